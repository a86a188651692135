package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// Settings are everything besides the item that decides an image's bytes.
// A manifest is resumed only with equal settings.
type Settings struct {
	ModelFingerprint string  `json:"model_fingerprint"`
	TextEncoder      string  `json:"text_encoder,omitempty"` // the text encoder folder, if not text_encoder
	Steps            int     `json:"steps"`
	Guidance         float64 `json:"guidance"`
	Scheduler        string  `json:"scheduler"`
	ModelScheduler   bool    `json:"model_scheduler,omitempty"` // the model's own scheduler with a mended config, not --scheduler CLASS
	Eta              float64 `json:"eta"`
	Width            int     `json:"width"`
	Height           int     `json:"height"`
	Color            string  `json:"color"`
	BitDepth         int     `json:"bit_depth"`
	Format           string  `json:"format"`
	NegativePrompt   string  `json:"negative_prompt"`
	BaseSeed         uint64  `json:"base_seed"`
	ImagesPerPrompt  int     `json:"images_per_prompt"`
	PromptColumn     string  `json:"prompt_column"`
}

// Diff lists the settings that differ, as "name X (manifest Y)", in field
// order; nil when equal.
func (s Settings) Diff(manifest Settings) []string {
	a, b := fields(s), fields(manifest)
	var out []string
	show := func(k string, v json.RawMessage) string {
		if v == nil { // an omitempty field at its default
			return settingDefaults[k]
		}
		return string(v)
	}
	for _, k := range settingOrder {
		if !bytes.Equal(a[k], b[k]) {
			out = append(out, fmt.Sprintf("%s %s (manifest %s)", k, show(k, a[k]), show(k, b[k])))
		}
	}
	return out
}

// settingDefaults show the omitempty settings when they are left out.
var settingDefaults = map[string]string{"text_encoder": `"text_encoder"`, "model_scheduler": "false"}

var settingOrder = []string{"model_fingerprint", "text_encoder", "steps", "guidance", "scheduler", "model_scheduler", "eta", "width", "height", "color",
	"bit_depth", "format", "negative_prompt", "base_seed", "images_per_prompt", "prompt_column"}

func fields(s Settings) map[string]json.RawMessage {
	b, _ := json.Marshal(s) // plain fields always marshal
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	return m
}

// Line is one finished image in a manifest.
type Line struct {
	Row              int             `json:"row"`
	Image            int             `json:"image"`
	Index            int             `json:"index"`
	PromptLine       int             `json:"prompt_line"` // line of the row in the prompt file
	Prompt           string          `json:"prompt"`
	NegativePrompt   string          `json:"negative_prompt"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	Seed             uint64          `json:"seed"`
	File             string          `json:"file"` // relative to the manifest's folder
	SHA256           string          `json:"sha256"`
	Bytes            int64           `json:"bytes"`
	Time             string          `json:"time"`  // RFC 3339, UTC, when the image was finished
	Shard            string          `json:"shard"` // "I/N" of the run that made it
	PromptFile       string          `json:"prompt_file"`
	PromptFileSHA256 string          `json:"prompt_file_sha256"`
	TotalItems       int             `json:"total_items"` // items of the whole prompt file, all shards
	Model            string          `json:"model"`
	Roentgen         string          `json:"roentgen"`
	Settings         Settings        `json:"settings"`
}

// Item is the work item the line records.
func (l Line) Item() Item { return Item{Index: l.Index, Row: l.Row, Image: l.Image} }

// Entry is a line read back with where it came from.
type Entry struct {
	Line
	Path string // the manifest file
	N    int    // 1-based line number
}

func (e Entry) String() string { return fmt.Sprintf("%s:%d", e.Path, e.N) }

// ReadManifest parses a manifest; blank lines are skipped. A last line
// that is cut short or not valid JSON is what a crash while appending
// leaves: it is dropped and its byte offset returned as good (the length
// of the valid prefix); a bad line anywhere else is an error naming it.
func ReadManifest(path string) (entries []Entry, good int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	last := len(lines) - 1
	for last > 0 && len(bytes.TrimSpace(lines[last])) == 0 {
		last--
	}
	for i, raw := range lines {
		if len(bytes.TrimSpace(raw)) == 0 {
			good += int64(len(raw))
			continue
		}
		var l Line
		err := json.Unmarshal(raw, &l)
		if err == nil && !bytes.HasSuffix(raw, []byte("\n")) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			if i == last {
				return entries, good, nil // the torn last line
			}
			return nil, 0, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		if err := l.check(); err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		entries = append(entries, Entry{Line: l, Path: path, N: i + 1})
		good += int64(len(raw))
	}
	return entries, good, nil
}

// check validates a line's item against its own totals.
func (l Line) check() error {
	per := l.Settings.ImagesPerPrompt
	switch {
	case per < 1 || l.TotalItems < 1:
		return fmt.Errorf("images_per_prompt %d, total_items %d", per, l.TotalItems)
	case l.Index < 0 || l.Index >= l.TotalItems || l.Row != l.Index/per || l.Image != l.Index%per:
		return fmt.Errorf("item index %d is not row %d image %d of %d items", l.Index, l.Row, l.Image, l.TotalItems)
	case l.File == "":
		return fmt.Errorf("no file name")
	}
	return nil
}

// Manifest is a manifest open for appending, locked against a second
// writer.
type Manifest struct {
	f    *os.File
	Path string
}

// OpenManifest reads a manifest (creating it if absent), cuts a torn last
// line off the file, and opens it for appending under an exclusive lock,
// so that two runs of one shard into one folder fail instead of mixing.
func OpenManifest(path string) (*Manifest, []Entry, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	// A file system without flock (some Lustre and NFS mounts) runs
	// unlocked; only a lock held elsewhere stops the run.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, nil, fmt.Errorf("%s: locked by another roentgen batch run of this shard", path)
	}
	entries, good, err := ReadManifest(path)
	if err == nil {
		err = repair(f, good)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &Manifest{f: f, Path: path}, entries, nil
}

// repair truncates the file to its valid prefix, if longer, and positions
// writes at its end.
func repair(f *os.File, good int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > good {
		if err := f.Truncate(good); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	_, err = f.Seek(good, io.SeekStart)
	return err
}

// Append writes one line with a single write and syncs it to disk before
// returning, so a finished image's line survives any later crash.
func (m *Manifest) Append(l Line) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := m.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	if err := m.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	return nil
}

// Close releases the lock and the file.
func (m *Manifest) Close() error { return m.f.Close() }

// Latest keeps the last entry for each item index: a redone item's new
// line supersedes the old one. The result is in index order.
func Latest(entries []Entry) []Entry {
	last := map[int]int{}
	for i, e := range entries {
		last[e.Index] = i
	}
	out := make([]Entry, 0, len(last))
	for _, i := range last {
		out = append(out, entries[i])
	}
	slices.SortFunc(out, func(a, b Entry) int { return a.Index - b.Index })
	return out
}
