package batch

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newJob is a 3-row, 2-images-per-row job writing into a fresh folder.
func newJob(t *testing.T, dir string, s Shard) *Job {
	t.Helper()
	p, err := Read(file(t, "p.txt", "Effusion.\nCardiomegaly.\n\nPneumothorax.\n"), "prompt")
	if err != nil {
		t.Fatal(err)
	}
	return &Job{Dir: dir, Prompts: p, Shard: s, Ext: ".png", Model: "m", Version: "v",
		Settings: Settings{ModelFingerprint: "f", Steps: 2, Guidance: 4, Scheduler: "PNDMScheduler", Width: 64, Height: 64,
			Color: "gray", BitDepth: 8, Format: "png", BaseSeed: 10, ImagesPerPrompt: 2, PromptColumn: ""}}
}

// make stands in for the generator: each item's file holds its seed.
func makeItems(t *testing.T, j *Job, p *Plan, n int) {
	t.Helper()
	for _, it := range p.Todo[:n] {
		sum, size, err := WriteFile(j.Dir, j.FileName(it), func(w io.Writer) error {
			_, err := io.WriteString(w, strconv.FormatUint(j.Seed(it), 10))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Manifest.Append(j.Line(it, sum, size, time.Unix(0, 0))); err != nil {
			t.Fatal(err)
		}
	}
}

func start(t *testing.T, j *Job) *Plan {
	t.Helper()
	p, err := j.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Manifest.Close() })
	return p
}

func TestStartResumesAndVerifies(t *testing.T) {
	dir := t.TempDir()
	j := newJob(t, dir, All)
	p := start(t, j)
	if p.Items != 6 || len(p.Todo) != 6 || p.Done != 0 {
		t.Fatalf("fresh plan %+v", p)
	}
	makeItems(t, j, p, 4)
	p.Manifest.Close()
	// A second writer on the same manifest is refused while one holds it.
	p2 := start(t, j)
	if _, err := j.Start(); err == nil || !strings.Contains(err.Error(), "locked by another roentgen batch run") {
		t.Errorf("second writer: %v", err)
	}
	p2.Manifest.Close()

	// Crash debris: a torn last line, a temporary file of ours and one of
	// another shard's item name pattern that is not ours.
	mpath := filepath.Join(dir, "manifest.jsonl")
	good, _ := os.ReadFile(mpath)
	appendTo(t, mpath, `{"row":2,"image":0,"index":4,"prompt_line":4,"prom`)
	for _, n := range []string{".roentgen-00000002-1.png.tmp99", ".roentgen-other-0.png.tmp1"} {
		os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o644)
	}
	// Item 1's file was changed, item 3's deleted.
	os.WriteFile(filepath.Join(dir, "00000000-1.png"), []byte("tampered"), 0o644)
	os.Remove(filepath.Join(dir, "00000001-1.png"))

	p = start(t, j)
	if got, _ := os.ReadFile(mpath); string(got) != string(good) {
		t.Errorf("the torn line was not cut off:\n%s", got)
	}
	if p.Done != 2 || len(p.Todo) != 4 || p.Todo[0].Index != 1 || p.Todo[1].Index != 3 || p.Cleaned != 1 || len(p.Redo) != 2 {
		t.Fatalf("plan %+v", p)
	}
	if !strings.Contains(p.Redo[0], "manifest.jsonl:2: file 00000000-1.png has sha256 ") || !strings.Contains(p.Redo[1], "manifest.jsonl:4: file 00000001-1.png is missing") {
		t.Errorf("redo reasons %q", p.Redo)
	}
	if _, err := os.Stat(filepath.Join(dir, ".roentgen-other-0.png.tmp1")); err != nil {
		t.Error("a temporary file that is not this shard's was removed")
	}
	makeItems(t, j, p, 4)
	p.Manifest.Close()
	entries, _, err := ReadManifest(mpath)
	if err != nil || len(entries) != 8 || len(Latest(entries)) != 6 {
		t.Fatalf("%d entries (%d items), %v", len(entries), len(Latest(entries)), err)
	}
	if p = start(t, j); p.Done != 6 || len(p.Todo) != 0 || len(p.Redo) != 0 {
		t.Errorf("finished plan %+v", p)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}

func TestStartRefusesOtherSettingsOrPrompts(t *testing.T) {
	dir := t.TempDir()
	j := newJob(t, dir, All)
	p := start(t, j)
	makeItems(t, j, p, 1)
	p.Manifest.Close()

	k := newJob(t, dir, All)
	k.Settings.Steps, k.Settings.NegativePrompt = 3, "text"
	_, err := k.Start()
	if err == nil || !strings.Contains(err.Error(), `manifest.jsonl:1: the manifest was made with other settings: steps 3 (manifest 2), negative_prompt "text" (manifest "")`) {
		t.Errorf("settings: %v", err)
	}
	k = newJob(t, dir, All)
	k.Prompts.SHA256 = "0000"
	if _, err = k.Start(); err == nil || !strings.Contains(err.Error(), "made from a different prompt file") {
		t.Errorf("prompt file: %v", err)
	}
}

func TestReadManifestRejectsBadMiddleLine(t *testing.T) {
	dir := t.TempDir()
	j := newJob(t, dir, All)
	p := start(t, j)
	makeItems(t, j, p, 2)
	p.Manifest.Close()
	mpath := filepath.Join(dir, "manifest.jsonl")
	data, _ := os.ReadFile(mpath)
	os.WriteFile(mpath, append([]byte("{oops}\n"), data...), 0o644)
	if _, _, err := ReadManifest(mpath); err == nil || !strings.HasPrefix(err.Error(), mpath+":1: ") {
		t.Errorf("got %v", err)
	}
	os.WriteFile(mpath, []byte(strings.Replace(string(data), `"index":1,`, `"index":5,`, 1)), 0o644)
	if _, _, err := ReadManifest(mpath); err == nil || !strings.Contains(err.Error(), ":2: item index 5 is not row 0 image 1 of 6 items") {
		t.Errorf("got %v", err)
	}
}

func TestReadManifestSkipsBlankLines(t *testing.T) {
	dir := t.TempDir()
	j := newJob(t, dir, All)
	p := start(t, j)
	makeItems(t, j, p, 2)
	p.Manifest.Close()
	mpath := filepath.Join(dir, "manifest.jsonl")
	data, _ := os.ReadFile(mpath)
	lines := strings.SplitAfter(string(data), "\n")
	blank := "\n" + lines[0] + " \t\r\n\n" + lines[1] + "\n  \n"
	os.WriteFile(mpath, []byte(blank), 0o644)
	entries, good, err := ReadManifest(mpath)
	if err != nil || len(entries) != 2 || entries[0].N != 2 || entries[1].N != 5 || entries[1].Index != 1 || good != int64(len(blank)) {
		t.Fatalf("%d entries %v, good %d of %d, %v", len(entries), entries, good, len(blank), err)
	}
	// Resuming appends after them; a bad line is named by its real line.
	p = start(t, j)
	makeItems(t, j, p, 1)
	p.Manifest.Close()
	if entries, _, err := ReadManifest(mpath); err != nil || len(entries) != 3 || entries[2].N != 8 || entries[2].Index != 2 {
		t.Errorf("after resuming: %v, %v", entries, err)
	}
	os.WriteFile(mpath, []byte(blank+"{oops}\n"+lines[0]), 0o644)
	if _, _, err := ReadManifest(mpath); err == nil || !strings.HasPrefix(err.Error(), mpath+":8: invalid character") {
		t.Errorf("got %v", err)
	}
	// A torn last line is still cut off, with the blank lines after it.
	os.WriteFile(mpath, []byte(blank+"{\"row\":2,\n\n"), 0o644)
	if entries, good, err := ReadManifest(mpath); err != nil || len(entries) != 2 || good != int64(len(blank)) {
		t.Errorf("torn line: %d entries, good %d, %v", len(entries), good, err)
	}
}

func TestMergeShards(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		j := newJob(t, dir, Shard{i, 3})
		p := start(t, j)
		if p.Manifest.Path != filepath.Join(dir, Shard{i, 3}.ManifestName()) || p.Items != 2 {
			t.Fatalf("shard %d: %+v", i, p)
		}
		makeItems(t, j, p, len(p.Todo))
		p.Manifest.Close()
	}
	files, err := FindManifests(dir, "")
	if err != nil || len(files) != 3 {
		t.Fatal(files, err)
	}
	out := t.TempDir()
	m, err := Merge(files, out, true)
	if err != nil || !m.Complete() || len(m.Lines) != 6 || m.Total != 6 {
		t.Fatalf("merge: %+v, %v", m, err)
	}
	rel, _ := filepath.Rel(out, filepath.Join(dir, "00000001-1.png"))
	if m.Lines[3].Index != 3 || m.Lines[3].File != filepath.ToSlash(rel) || m.Lines[3].Seed != 13 || m.Lines[3].Shard != "0/3" || m.Same != 0 {
		t.Errorf("line 3: %+v, %d exact repeats", m.Lines[3], m.Same)
	}
	// The merged manifest next to its shards: every item twice, the same
	// file with the same hash, so one merge.
	data, err := Encode(m.Lines)
	if err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(out, "manifest.jsonl")
	os.WriteFile(merged, data, 0o644)
	if m, err := Merge(append([]string{merged}, files...), t.TempDir(), true); err != nil || !m.Complete() || m.Same != 6 || len(m.Lines) != 6 {
		t.Errorf("merged and shards: %+v, %v", m, err)
	}

	// Shard 1 missing; shard 0 (items 0 and 3) twice more: an exact copy,
	// merged, and item 3 with another hash, a duplicate; one file changed.
	os.Remove(files[1])
	same := filepath.Join(dir, "manifest.jsonl")
	data, _ = os.ReadFile(files[0])
	os.WriteFile(same, data, 0o644)
	other := filepath.Join(dir, "other.jsonl")
	os.WriteFile(other, []byte(strings.Replace(strings.SplitAfter(string(data), "\n")[1], `"sha256":"`, `"sha256":"0`, 1)), 0o644)
	os.WriteFile(filepath.Join(dir, "00000001-0.png"), []byte("21"), 0o644) // item 2, shard 2: same size, other bytes
	m, err = Merge([]string{same, files[0], other, files[2]}, dir, true)
	if err != nil || m.Complete() {
		t.Fatalf("merge: %+v, %v", m, err)
	}
	if len(m.Missing) != 2 || m.Missing[0] != 1 || m.Missing[1] != 4 || len(m.Absent) != 1 || !strings.Contains(m.Absent[0], "00000001-0.png has sha256") {
		t.Errorf("missing %v, absent %v", m.Missing, m.Absent)
	}
	if m.Same != 2 || len(m.Duplicates) != 1 || len(m.Duplicates[0]) != 2 || m.Duplicates[0][0].String() != same+":2" || m.Duplicates[0][1].String() != other+":1" {
		t.Errorf("%d exact repeats, duplicates %v", m.Same, m.Duplicates)
	}
	if got := Describe(4, 2); got != "index 4 (row 2, image 0)" {
		t.Error(got)
	}

	// Manifests of other settings are not one dataset.
	k := newJob(t, t.TempDir(), All)
	k.Settings.Guidance = 7.5
	p := start(t, k)
	makeItems(t, k, p, 1)
	p.Manifest.Close()
	if _, err := Merge([]string{files[0], k.ManifestPath()}, dir, false); err == nil || !strings.Contains(err.Error(), "settings differ from "+files[0]+":1: guidance 7.5 (first 4)") {
		t.Errorf("inconsistent merge: %v", err)
	}
}

func TestStartCleansOnlyItsTemporaries(t *testing.T) {
	dir := t.TempDir()
	j := newJob(t, dir, Shard{0, 3}) // items 0 (row 0 image 0) and 3 (row 1 image 1)
	temps := map[string]bool{
		"00000000-0.png": true, "00000001-1.png": true,
		"00000000-1.png":  false, // item 1: shard 1's
		"00000002-0.png":  false, // item 4
		"00000000-2.png":  false, // no image 2
		"00000001-01.png": false, "00000001-+1.png": false, "00000001-1.dcm": false, "00000009-0.png": false, "x.png": false,
	}
	for name := range temps {
		os.WriteFile(filepath.Join(dir, ".roentgen-"+name+".tmp7"), nil, 0o644)
	}
	if p := start(t, j); p.Cleaned != 2 {
		t.Errorf("%d temporary files removed, want 2", p.Cleaned)
	}
	for name, ours := range temps {
		if _, err := os.Stat(filepath.Join(dir, ".roentgen-"+name+".tmp7")); (err == nil) == ours {
			t.Errorf("%s: removed %v, want %v", name, err != nil, ours)
		}
	}
}

func TestWriteFileLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	_, _, err := WriteFile(dir, "x.png", func(w io.Writer) error {
		io.WriteString(w, "half")
		return os.ErrInvalid
	})
	entries, _ := os.ReadDir(dir)
	if err == nil || len(entries) != 0 {
		t.Errorf("err %v, %d files left", err, len(entries))
	}
	sum, n, err := WriteFile(dir, "y.png", func(w io.Writer) error { _, err := io.WriteString(w, "abc"); return err })
	// sha256("abc"), FIPS 180-2 appendix B.1.
	if err != nil || n != 3 || sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("%s %d %v", sum, n, err)
	}
}
