package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Item is one image of a batch: image Image of row Row. Index =
// Row·images-per-prompt + Image numbers all items of a prompt file.
type Item struct {
	Index, Row, Image int
}

// Seed is an item's seed: (base + index) mod 2^32, that is
// (base + row·images_per_prompt + image) mod 2^32. torch's mt19937 keeps
// only the low 32 bits of a seed, so the 2^32 possible values are all
// distinct generators and the first 2^32 items never share one.
func Seed(base uint64, index int) uint64 {
	return (base + uint64(index)) & 0xffffffff
}

// A batch has at most MaxItems items (rows × images per prompt) and
// MaxImagesPerPrompt images per row. No real dataset comes near (10^7
// images take months of CPU time even at a second each), and they keep a
// run's item list in memory small; seeds are (base + index) mod 2^32, so
// beyond 2^32 items they would repeat anyway.
const (
	MaxItems           = 10_000_000
	MaxImagesPerPrompt = 1_000_000
)

// Items lists a shard's items in index order.
func Items(rows, perRow int, s Shard) []Item {
	out := make([]Item, 0, max(rows*perRow-s.I+s.N-1, 0)/s.N)
	for i := s.I; i < rows*perRow; i += s.N {
		out = append(out, Item{Index: i, Row: i / perRow, Image: i % perRow})
	}
	return out
}

// FileName is an item's output file: the row's name stem, "-", the image
// index and ext, e.g. "00000017-0.png".
func (p *Prompts) FileName(it Item, ext string) string {
	return p.Rows[it.Row].Name + "-" + strconv.Itoa(it.Image) + ext
}

// safeName is what an id column value must look like to name files: no
// separators, no leading dot, portable on every file system.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// name sets each row's file-name stem. A "dicom_id" column (else "id")
// names the files when every row has a value that is a safe file name and
// no two values are equal ignoring case; otherwise rows are numbered
// %08d by row id and NameNote says why the column was not used.
func (p *Prompts) name() {
	for _, col := range []string{"dicom_id", "id"} {
		names, err := p.idColumn(col)
		if names == nil && err == nil {
			continue // no such column
		}
		if err != nil {
			p.NameNote = fmt.Sprintf("column %q does not name the files, rows are numbered instead: %v", col, err)
			break
		}
		p.NameColumn = col
		for i := range p.Rows {
			p.Rows[i].Name = names[i]
		}
		return
	}
	for i := range p.Rows {
		p.Rows[i].Name = fmt.Sprintf("%08d", p.Rows[i].ID)
	}
}

// idColumn returns every row's value of a metadata column, nil when no row
// has it, or an error naming the first row that cannot name a file.
func (p *Prompts) idColumn(col string) ([]string, error) {
	var names []string
	seen := map[string]int{}
	for _, r := range p.Rows {
		var obj map[string]json.RawMessage
		if r.Meta != nil {
			if err := json.Unmarshal(r.Meta, &obj); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", p.Path, r.Line, err)
			}
		}
		raw, ok := obj[col]
		if !ok {
			if names == nil && r.ID == 0 {
				return nil, nil
			}
			return nil, fmt.Errorf("%s:%d: no value", p.Path, r.Line)
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			v = string(raw) // a JSON number names the file by its text
		}
		if !safeName.MatchString(v) {
			return nil, fmt.Errorf("%s:%d: %q is not a safe file name (1-100 letters, digits, '.', '_', '-', not starting with '.', '_' or '-')", p.Path, r.Line, v)
		}
		if prev, dup := seen[strings.ToLower(v)]; dup {
			return nil, fmt.Errorf("%s:%d: %q repeats line %d", p.Path, r.Line, v, prev)
		}
		seen[strings.ToLower(v)] = r.Line
		names = append(names, v)
	}
	return names, nil
}

// PatientID is the synthetic DICOM patient ID of an item: "SYN-" and 16
// hex digits of SHA-256(prompt-file fingerprint, ":", index), unique per
// dataset and item and unrelated to any real patient.
func (p *Prompts) PatientID(it Item) string {
	h := sha256.Sum256([]byte(p.SHA256 + ":" + strconv.Itoa(it.Index)))
	return "SYN-" + hex.EncodeToString(h[:8])
}
