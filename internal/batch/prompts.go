// Package batch turns a prompt file into deterministic work items and keeps a crash-safe manifest of the images made from them: seeds, shards, resume and merge.
package batch

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roentgen-dev/roentgen/internal/clip"
)

// Row is one data row of a prompt file.
type Row struct {
	ID     int             // 0-based index of the data row: the row id of its items
	Line   int             // 1-based line of the file where the row starts
	Prompt string          // exactly as in the file
	Name   string          // the row's file-name stem: its id column value, or the zero-padded row id
	Meta   json.RawMessage // every other column or key, as one JSON object; nil when there are none
}

// Prompts is a parsed prompt file.
type Prompts struct {
	Path       string
	Format     string // "csv", "jsonl" or "txt"
	Column     string // the prompt column (CSV) or key (JSONL); "" for txt
	SHA256     string // hex SHA-256 of the file's bytes: its fingerprint
	NameColumn string // "dicom_id" or "id" when it names the files, else ""
	NameNote   string // why an id column present in the file does not name the files
	Rows       []Row
}

// Read parses a prompt file. The format follows the extension (.csv,
// .jsonl, .txt); any other is sniffed: a first non-blank byte "{" means
// JSONL, a first line with a field named column means CSV, anything else
// is plain text. Errors name the file and line ("prompts.csv:17: column
// "prompt": empty prompt").
func Read(path, column string) (*Prompts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	p := &Prompts{Path: path, Format: format(path, data, column), SHA256: hex.EncodeToString(sum[:])}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // a UTF-8 byte order mark, as spreadsheets write
	switch p.Format {
	case "csv":
		p.Column = column
		err = p.readCSV(data)
	case "jsonl":
		p.Column = column
		err = p.readJSONL(data)
	default:
		err = p.readText(data)
	}
	if err != nil {
		return nil, err
	}
	if len(p.Rows) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	p.name()
	return p, nil
}

// format picks the parser: by extension, else by sniffing the content.
func format(path string, data []byte, column string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv"
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".txt":
		return "txt"
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\ufeff")), " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("{")) {
		return "jsonl"
	}
	first, _, _ := bytes.Cut(trimmed, []byte("\n"))
	if head, err := csv.NewReader(bytes.NewReader(first)).Read(); err == nil && len(head) > 1 && slices.Contains(head, column) {
		return "csv"
	}
	return "txt"
}

func (p *Prompts) readCSV(data []byte) error {
	r := csv.NewReader(bytes.NewReader(data))
	head, err := r.Read()
	if err != nil {
		return p.csvError(err)
	}
	hl, _ := r.FieldPos(0) // the header's line: leading blank lines are skipped
	col := -1
	for i, name := range head {
		switch {
		case !utf8.ValidString(name):
			return fmt.Errorf("%s:%d: header column %d: invalid UTF-8", p.Path, hl, i+1)
		case name == "":
			return fmt.Errorf("%s:%d: header column %d has no name", p.Path, hl, i+1)
		case slices.Index(head, name) != i:
			return fmt.Errorf("%s:%d: column %q appears twice", p.Path, hl, name)
		case name == p.Column:
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("%s:%d: no column %q (use --prompt-column); the columns are %s", p.Path, hl, p.Column, strings.Join(head, ", "))
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, csv.ErrFieldCount) {
			line, _ := r.FieldPos(0)
			return fmt.Errorf("%s:%d: %d fields, the header has %d", p.Path, line, len(rec), len(head))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return p.csvError(err)
		}
		line, _ := r.FieldPos(0)
		var meta []byte
		for i, v := range rec {
			if !utf8.ValidString(v) {
				return fmt.Errorf("%s:%d: column %q: invalid UTF-8", p.Path, line, head[i])
			}
			if i != col {
				meta = appendField(meta, head[i], v)
			}
		}
		if meta != nil {
			meta = append(meta, '}')
		}
		if strings.TrimSpace(rec[col]) == "" {
			return fmt.Errorf("%s:%d: column %q: empty prompt", p.Path, line, p.Column)
		}
		if err := p.add(line, rec[col], meta); err != nil {
			return err
		}
	}
}

// csvError renders encoding/csv's errors as file:line:column: why.
func (p *Prompts) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %v", p.Path, pe.Line, pe.Column, pe.Err)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: empty file, expected a header line", p.Path)
	}
	return fmt.Errorf("%s: %w", p.Path, err)
}

// appendField adds "key": "value" to a JSON object being built.
func appendField(obj []byte, key, value string) []byte {
	if obj == nil {
		obj = []byte{'{'}
	} else {
		obj = append(obj, ',')
	}
	k, _ := json.Marshal(key) // strings always marshal
	v, _ := json.Marshal(value)
	return append(append(append(obj, k...), ':'), v...)
}

func (p *Prompts) readJSONL(data []byte) error {
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := i + 1
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if !utf8.Valid(raw) {
			return fmt.Errorf("%s:%d: invalid UTF-8", p.Path, line)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fmt.Errorf("%s:%d: not a JSON object: %v", p.Path, line, err)
		}
		v, ok := obj[p.Column]
		if !ok {
			return fmt.Errorf("%s:%d: no key %q (use --prompt-column); the keys are %s", p.Path, line, p.Column, strings.Join(slices.Sorted(maps.Keys(obj)), ", "))
		}
		var prompt string
		if err := json.Unmarshal(v, &prompt); err != nil {
			return fmt.Errorf("%s:%d: key %q: the prompt must be a string, got %s", p.Path, line, p.Column, v)
		}
		if strings.TrimSpace(prompt) == "" {
			return fmt.Errorf("%s:%d: key %q: empty prompt", p.Path, line, p.Column)
		}
		delete(obj, p.Column)
		var meta []byte
		if len(obj) > 0 {
			meta, _ = json.Marshal(obj) // sorted keys, values verbatim
		}
		if err := p.add(line, prompt, meta); err != nil {
			return err
		}
	}
	return nil
}

func (p *Prompts) readText(data []byte) error {
	for i, raw := range bytes.Split(data, []byte("\n")) {
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // blank lines are not rows; line numbers still count them
		}
		if !utf8.Valid(raw) {
			return fmt.Errorf("%s:%d: invalid UTF-8", p.Path, i+1)
		}
		if err := p.add(i+1, string(raw), nil); err != nil {
			return err
		}
	}
	return nil
}

func (p *Prompts) add(line int, prompt string, meta []byte) error {
	if err := clip.CheckText(prompt); err != nil {
		return fmt.Errorf("%s:%d: the prompt is %w", p.Path, line, err)
	}
	p.Rows = append(p.Rows, Row{ID: len(p.Rows), Line: line, Prompt: prompt, Meta: meta})
	return nil
}
