package weights

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/roentgen-dev/roentgen/internal/atomicfile"
)

// Record is one tensor to write: raw little-endian bytes of the given dtype.
type Record struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// Write writes a safetensors file: the header, padded with spaces to a
// multiple of 8 bytes, then each record's bytes in order.
func Write(w io.Writer, records []Record, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, r := range records {
		n := int64(len(r.Data))
		if want := (Info{Shape: r.Shape}).Numel() * r.DType.Size(); want != n || r.DType.Size() == 0 {
			return fmt.Errorf("tensor %q: %d bytes do not match shape %v x %s", r.Name, n, r.Shape, r.DType)
		}
		if _, dup := header[r.Name]; dup {
			return fmt.Errorf("tensor %q written twice", r.Name)
		}
		header[r.Name] = map[string]any{"dtype": r.DType, "shape": r.Shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := binary.Write(bw, binary.LittleEndian, uint64(len(h))); err != nil {
		return err
	}
	if _, err := bw.Write(h); err != nil {
		return err
	}
	for _, r := range records {
		if _, err := bw.Write(r.Data); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes a safetensors file atomically: to a temporary file in the
// same folder, synced, then renamed over path.
func WriteFile(path string, records []Record, metadata map[string]string) error {
	return writeAtomic(path, func(w io.Writer) error { return Write(w, records, metadata) })
}

// writeAtomic writes path through write: to a temporary file in the same
// folder, synced, then renamed over path.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, "."+filepath.Base(path)+".tmp", write); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Records returns every tensor of f as records that share f's bytes, for
// rewriting a file (tests, conversions).
func (f *File) Records() []Record {
	out := make([]Record, 0, len(f.order))
	for _, n := range f.order {
		b, in, _ := f.Bytes(n)
		out = append(out, Record{Name: n, DType: in.DType, Shape: in.Shape, Data: b})
	}
	return out
}
