// Package weights reads safetensors files and PyTorch checkpoints: memory-mapped, validated before use, tensors decoded lazily by name.
package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// DType is a safetensors element type.
type DType string

// The element types roentgen computes with. Other safetensors dtypes are parsed
// (so that a buffer we never read, such as an int64 position_ids, does not fail
// the load) but cannot be read as weights.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
)

// dtypeSizes lists every dtype of the safetensors format with its size in bytes.
var dtypeSizes = map[DType]int64{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1,
	"U64": 8, "U32": 4, "U16": 2, "U8": 1,
	"BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int64 { return dtypeSizes[d] }

// IsFloat reports whether d is one of the dtypes roentgen reads as weights.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 }

// Info describes one tensor of a file.
type Info struct {
	Name       string
	DType      DType
	Shape      []int
	Begin, End int64 // byte offsets into the data area (a checkpoint's whole archive)
}

// Numel is the number of elements (1 for a scalar).
func (t Info) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// maxHeader bounds the JSON header; real headers are well under 1 MiB
// (SD U-Nets have ~700 tensors). The reference implementation uses 100 MB.
const maxHeader = 100 << 20

type rawInfo struct {
	DType   DType   `json:"dtype"`
	Shape   []int64 `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// parseHeader validates the header of a safetensors image of size bytes and
// returns its tensors sorted by offset and the start of the data area. head
// holds at least the first 8+header bytes.
func parseHeader(name string, head []byte, size int64) ([]Info, int64, error) {
	if size < 8 {
		return nil, 0, fmt.Errorf("%s: %d bytes is too short for a safetensors file (needs an 8-byte header length) or a PyTorch checkpoint", name, size)
	}
	n := binary.LittleEndian.Uint64(head[:8])
	if n > maxHeader || int64(n) > size-8 {
		return nil, 0, fmt.Errorf("%s: header length %d runs past the end of the %d-byte file (truncated or not safetensors)", name, n, size)
	}
	dataStart := 8 + int64(n)
	hdr := head[8:dataStart]
	keys, err := objectKeys(hdr)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: header is not valid JSON: %w", name, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, 0, fmt.Errorf("%s: header is not valid JSON: %w", name, err)
	}
	dataLen := size - dataStart
	infos := make([]Info, 0, len(raw))
	for _, k := range keys {
		if k == "__metadata__" {
			var meta map[string]string
			if err := json.Unmarshal(raw[k], &meta); err != nil {
				return nil, 0, fmt.Errorf("%s: __metadata__ must map strings to strings: %w", name, err)
			}
			continue
		}
		var r rawInfo
		dec := json.NewDecoder(bytes.NewReader(raw[k]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, 0, fmt.Errorf("%s: tensor %q: bad header entry: %w", name, k, err)
		}
		info, err := checkEntry(k, r, dataLen)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: tensor %q: %w", name, k, err)
		}
		infos = append(infos, info)
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].Begin != infos[j].Begin {
			return infos[i].Begin < infos[j].Begin
		}
		return infos[i].End < infos[j].End
	})
	for i := 1; i < len(infos); i++ {
		a, b := infos[i-1], infos[i]
		if b.Begin < a.End {
			return nil, 0, fmt.Errorf("%s: tensors %q [%d,%d) and %q [%d,%d) overlap", name, a.Name, a.Begin, a.End, b.Name, b.Begin, b.End)
		}
	}
	return infos, dataStart, nil
}

func checkEntry(name string, r rawInfo, dataLen int64) (Info, error) {
	size := r.DType.Size()
	if size == 0 {
		return Info{}, fmt.Errorf("unknown dtype %q", r.DType)
	}
	if len(r.Offsets) != 2 {
		return Info{}, fmt.Errorf("data_offsets must hold 2 numbers, has %d", len(r.Offsets))
	}
	begin, end := r.Offsets[0], r.Offsets[1]
	if begin < 0 || end < begin || end > dataLen {
		return Info{}, fmt.Errorf("data_offsets [%d,%d] outside the %d-byte data area", begin, end, dataLen)
	}
	numel := int64(1)
	shape := make([]int, len(r.Shape))
	for i, d := range r.Shape {
		if d < 0 || d > math.MaxInt32 {
			return Info{}, fmt.Errorf("bad dimension %d in shape %v", d, r.Shape)
		}
		shape[i] = int(d)
		if d != 0 && numel > math.MaxInt64/d/size {
			return Info{}, fmt.Errorf("shape %v is too large", r.Shape)
		}
		numel *= d
	}
	if numel*size != end-begin {
		return Info{}, fmt.Errorf("shape %v x %s (%d bytes) does not match data_offsets length %d", r.Shape, r.DType, numel*size, end-begin)
	}
	return Info{Name: name, DType: r.DType, Shape: shape, Begin: begin, End: end}, nil
}

// objectKeys returns the keys of a JSON object in order and rejects
// duplicates, which encoding/json would silently merge.
func objectKeys(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("header must be a JSON object")
	}
	seen := map[string]bool{}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("expected a key, found %v", tok)
		}
		if seen[k] {
			return nil, fmt.Errorf("duplicate key %q", k)
		}
		seen[k] = true
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the header object")
	}
	return keys, nil
}
