package batch

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Job is one run over a prompt file: its settings, its shard and the
// folder it writes images and its manifest into.
type Job struct {
	Dir      string
	Prompts  *Prompts
	Settings Settings
	Shard    Shard
	Ext      string // output file extension, ".png" or ".dcm"
	Model    string // model name, recorded in each line
	Version  string // roentgen version, recorded in each line
}

// Total is the number of items of the whole prompt file, all shards.
func (j *Job) Total() int { return len(j.Prompts.Rows) * j.Settings.ImagesPerPrompt }

// ManifestPath is the shard's manifest.
func (j *Job) ManifestPath() string { return filepath.Join(j.Dir, j.Shard.ManifestName()) }

// Seed is the item's seed under the job's base seed.
func (j *Job) Seed(it Item) uint64 { return Seed(j.Settings.BaseSeed, it.Index) }

// FileName is the item's output file name.
func (j *Job) FileName(it Item) string { return j.Prompts.FileName(it, j.Ext) }

// Plan is what a run has left to do.
type Plan struct {
	Manifest *Manifest
	Items    int      // items of this shard
	Todo     []Item   // still to make, in index order
	Done     int      // finished before, files verified
	Redo     []string // why finished items are made again
	Cleaned  int      // temporary files of killed runs removed
}

// Start opens (or creates) the shard's manifest and works out what is left:
// every finished item of the shard whose file still has its recorded
// SHA-256 is done; an item whose file is missing or changed is redone. It
// refuses a manifest made from another prompt file or other settings.
func (j *Job) Start() (*Plan, error) {
	m, entries, err := OpenManifest(j.ManifestPath())
	if err != nil {
		return nil, err
	}
	p, err := j.plan(entries)
	if err != nil {
		m.Close()
		return nil, err
	}
	p.Manifest = m
	return p, nil
}

func (j *Job) plan(entries []Entry) (*Plan, error) {
	for _, e := range entries {
		if err := j.compatible(e); err != nil {
			return nil, err
		}
	}
	items := Items(len(j.Prompts.Rows), j.Settings.ImagesPerPrompt, j.Shard)
	p := &Plan{Items: len(items)}
	done := map[int]bool{}
	for _, e := range Latest(entries) {
		if !j.Shard.Has(e.Index) {
			continue // made by another shard layout: valid, but not ours to count
		}
		if why := j.verify(e); why != "" {
			p.Redo = append(p.Redo, fmt.Sprintf("%s: %s", e, why))
			continue
		}
		done[e.Index] = true
	}
	p.Todo = items[:0] // filtered in place: the item list is the largest thing a run holds
	for _, it := range items {
		if !done[it.Index] {
			p.Todo = append(p.Todo, it)
		}
	}
	p.Done = p.Items - len(p.Todo)
	n, err := CleanTemp(j.Dir, j.owns())
	p.Cleaned = n
	return p, err
}

// owns returns whether a file name is the output of one of the shard's
// items: "<row stem>-<image><ext>" with the item in the shard.
func (j *Job) owns() func(name string) bool {
	rows := make(map[string]int, len(j.Prompts.Rows))
	for _, r := range j.Prompts.Rows {
		rows[r.Name] = r.ID
	}
	per := j.Settings.ImagesPerPrompt
	return func(name string) bool {
		i := strings.LastIndexByte(name, '-')
		if i < 0 {
			return false
		}
		row, ok := rows[name[:i]]
		img, err := strconv.Atoi(strings.TrimSuffix(name[i+1:], j.Ext))
		it := Item{Index: row*per + img, Row: row, Image: img}
		return ok && err == nil && img >= 0 && img < per && j.Shard.Has(it.Index) && j.FileName(it) == name
	}
}

// compatible checks that a manifest line was made by this job's prompt
// file and settings.
func (j *Job) compatible(e Entry) error {
	if e.PromptFileSHA256 != j.Prompts.SHA256 {
		return fmt.Errorf("%s: the manifest was made from a different prompt file (%s, sha256 %s); %s has sha256 %s. Use another --out, or delete %s to start over",
			e, e.PromptFile, e.PromptFileSHA256, j.Prompts.Path, j.Prompts.SHA256, e.Path)
	}
	if d := j.Settings.Diff(e.Settings); d != nil {
		return fmt.Errorf("%s: the manifest was made with other settings: %s. Use the same flags, another --out, or delete %s to start over",
			e, strings.Join(d, ", "), e.Path)
	}
	if e.TotalItems != j.Total() {
		return fmt.Errorf("%s: the manifest counts %d items, this run %d", e, e.TotalItems, j.Total())
	}
	return nil
}

// verify returns why a finished item must be made again, or "".
func (j *Job) verify(e Entry) string {
	if want := j.FileName(e.Item()); e.File != want {
		return fmt.Sprintf("file %s is now named %s", e.File, want)
	}
	sum, err := HashFile(filepath.Join(j.Dir, e.File))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("file %s is missing", e.File)
	case err != nil:
		return err.Error()
	case sum != e.SHA256:
		return fmt.Sprintf("file %s has sha256 %s, the manifest records %s", e.File, sum, e.SHA256)
	}
	return ""
}

// Line is the manifest line of a finished item.
func (j *Job) Line(it Item, sum string, size int64, at time.Time) Line {
	r := j.Prompts.Rows[it.Row]
	return Line{
		Row: it.Row, Image: it.Image, Index: it.Index, PromptLine: r.Line, Prompt: r.Prompt,
		NegativePrompt: j.Settings.NegativePrompt, Metadata: r.Meta, Seed: j.Seed(it),
		File: j.FileName(it), SHA256: sum, Bytes: size, Time: at.UTC().Format(time.RFC3339Nano),
		Shard: j.Shard.String(), PromptFile: j.Prompts.Path, PromptFileSHA256: j.Prompts.SHA256,
		TotalItems: j.Total(), Model: j.Model, Roentgen: j.Version, Settings: j.Settings,
	}
}
