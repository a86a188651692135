package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Merged is the union of shard manifests.
type Merged struct {
	Sources    []string  // the manifests read
	Lines      []Line    // one per item, in index order, File relative to the output folder
	Total      int       // items of the prompt file
	Missing    []int     // item indices no manifest has
	Duplicates [][]Entry // items in more than one manifest with different files or hashes, one entry of each
	Same       int       // lines that repeat an item of another manifest exactly (same file and hash): merged
	Absent     []string  // lines whose file is missing or has another size (or hash, when verified)
}

// Complete reports whether every item is there exactly once with its file.
func (m *Merged) Complete() bool {
	return len(m.Missing) == 0 && len(m.Duplicates) == 0 && len(m.Absent) == 0
}

// FindManifests lists the manifests in dir: manifest.jsonl and
// manifest-shard-I-of-N.jsonl, except skip (the merge output, an earlier
// merge) unless it is the only one (an unsharded run, merged to check it).
func FindManifests(dir, skip string) ([]string, error) {
	var out, skipped []string
	for _, pat := range []string{"manifest.jsonl", "manifest-shard-*-of-*.jsonl"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			if sameFile(p, skip) {
				skipped = append(skipped, p)
			} else {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		out = skipped
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no manifest.jsonl or manifest-shard-*-of-*.jsonl", dir)
	}
	return out, nil
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// Merge combines manifests into one for outDir. Every line must come from
// the same prompt file (fingerprint), settings and item count, or Merge
// fails naming the first line that differs. Within one manifest a later
// line for an item supersedes an earlier one (a redone image). An item in
// two manifests with the same file and SHA-256 (an earlier merge and its
// shards) is merged, counted in Same; with another file or SHA-256 it is
// a duplicate. Each kept line's file must exist with its recorded size,
// and with verify its recorded SHA-256.
func Merge(manifests []string, outDir string, verify bool) (*Merged, error) {
	m := &Merged{Sources: manifests}
	var first *Entry
	kept := map[int][]Entry{}
	for _, path := range manifests {
		entries, _, err := ReadManifest(path)
		if err != nil {
			return nil, err
		}
		for _, e := range Latest(entries) {
			if first == nil {
				first = &e
				m.Total = e.TotalItems
			}
			if err := consistent(*first, e); err != nil {
				return nil, err
			}
			kept[e.Index] = append(kept[e.Index], e)
		}
	}
	if first == nil {
		return nil, fmt.Errorf("%s: no finished images", strings.Join(manifests, ", "))
	}
	out, err := filepath.Abs(outDir)
	if err != nil {
		return nil, err
	}
	for i := range m.Total {
		if len(kept[i]) == 0 {
			m.Missing = append(m.Missing, i)
			continue
		}
		es, files, err := distinct(kept[i])
		if err != nil {
			return nil, err
		}
		m.Same += len(kept[i]) - len(es)
		if len(es) > 1 {
			m.Duplicates = append(m.Duplicates, es)
		}
		e, file := es[0], files[0]
		if why := present(file, e.Line, verify); why != "" {
			m.Absent = append(m.Absent, fmt.Sprintf("%s: %s", e, why))
		}
		if e.File, err = filepath.Rel(out, file); err != nil {
			return nil, err
		}
		e.File = filepath.ToSlash(e.File)
		m.Lines = append(m.Lines, e.Line)
	}
	return m, nil
}

// distinct drops the entries that repeat an earlier one's file (resolved
// from its manifest's folder), size and SHA-256, and returns the others
// with their absolute file paths.
func distinct(entries []Entry) ([]Entry, []string, error) {
	type content struct {
		file, sha256 string
		bytes        int64
	}
	seen := map[content]bool{}
	var out []Entry
	var files []string
	for _, e := range entries {
		file, err := filepath.Abs(filepath.Join(filepath.Dir(e.Path), e.File))
		if err != nil {
			return nil, nil, err
		}
		c := content{file, e.SHA256, e.Bytes}
		if !seen[c] {
			seen[c] = true
			out, files = append(out, e), append(files, file)
		}
	}
	return out, files, nil
}

// consistent checks that e belongs to the same dataset as first.
func consistent(first, e Entry) error {
	switch {
	case e.PromptFileSHA256 != first.PromptFileSHA256:
		return fmt.Errorf("%s: prompt file sha256 %s differs from %s's %s: these manifests are not one dataset", e, e.PromptFileSHA256, first, first.PromptFileSHA256)
	case e.TotalItems != first.TotalItems:
		return fmt.Errorf("%s: %d total items differ from %s's %d", e, e.TotalItems, first, first.TotalItems)
	}
	if d := e.Settings.Diff(first.Settings); d != nil {
		return fmt.Errorf("%s: settings differ from %s: %s", e, first, strings.Replace(strings.Join(d, ", "), "(manifest", "(first", -1))
	}
	return nil
}

// present returns why a line's file does not hold its image, or "".
func present(path string, l Line, verify bool) string {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Sprintf("file %s: %v", path, err)
	case st.Size() != l.Bytes:
		return fmt.Sprintf("file %s has %d bytes, the manifest records %d", path, st.Size(), l.Bytes)
	case !verify:
		return ""
	}
	sum, err := HashFile(path)
	if err != nil {
		return err.Error()
	}
	if sum != l.SHA256 {
		return fmt.Sprintf("file %s has sha256 %s, the manifest records %s", path, sum, l.SHA256)
	}
	return ""
}

// Encode renders lines as a manifest.
func Encode(lines []Line) ([]byte, error) {
	var b bytes.Buffer
	for _, l := range lines {
		j, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		b.Write(append(j, '\n'))
	}
	return b.Bytes(), nil
}

// Describe names an item for a report: "index 7 (row 3, image 1)".
func Describe(index, perRow int) string {
	return fmt.Sprintf("index %d (row %d, image %d)", index, index/perRow, index%perRow)
}
