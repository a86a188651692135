package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/x448/float16"
	"golang.org/x/sys/unix"
)

// File is one safetensors file or PyTorch checkpoint whose header (or
// pickle) has been validated. Its tensor bytes stay in the memory-mapped (or
// embedded) image until read.
type File struct {
	Path    string
	data    []byte // the data area
	mapped  []byte // the whole mapping, nil for in-memory images
	tensors map[string]Info
	order   []string // tensor names by offset
}

// Open memory-maps a safetensors file or PyTorch checkpoint (told apart by
// their first bytes) and validates its header.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, map[bool]string{true: "a directory", false: "mode " + st.Mode().Type().String()}[st.IsDir()])
	}
	size := st.Size()
	if size < 8 {
		_, _, err := parseHeader(path, make([]byte, 8), size)
		return nil, err
	}
	m, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	f, err := parse(path, m)
	if err != nil {
		_ = unix.Munmap(m)
		return nil, err
	}
	f.mapped = m
	return f, nil
}

// Parse validates an in-memory safetensors image or PyTorch checkpoint (e.g. one embedded in the
// binary). name is used in errors.
func Parse(name string, image []byte) (*File, error) {
	if len(image) < 8 {
		_, _, err := parseHeader(name, make([]byte, 8), int64(len(image)))
		return nil, err
	}
	return parse(name, image)
}

// parse reads a safetensors image, or a PyTorch checkpoint (torch.go).
func parse(name string, image []byte) (*File, error) {
	switch {
	case isZip(image):
		return parseTorch(name, image)
	case bytes.HasPrefix(image, []byte("version https://git-lfs")):
		return nil, fmt.Errorf("%s: a Git LFS pointer, not the weights: fetch them (git lfs pull, or download the file itself)", name)
	case bytes.HasPrefix(image, legacyTorchMagic):
		return nil, fmt.Errorf("%s: a PyTorch checkpoint in the format before PyTorch 1.6, which roentgen does not read (re-save it with a recent torch.save, or as safetensors)", name)
	}
	infos, start, err := parseHeader(name, image, int64(len(image)))
	if err != nil {
		return nil, err
	}
	f := &File{Path: name, data: image[start:], tensors: make(map[string]Info, len(infos))}
	for _, in := range infos {
		f.tensors[in.Name] = in
		f.order = append(f.order, in.Name)
	}
	return f, nil
}

// Close unmaps the file. Slices returned by Bytes become invalid.
func (f *File) Close() error {
	if f.mapped == nil {
		return nil
	}
	m := f.mapped
	f.mapped, f.data = nil, nil
	return unix.Munmap(m)
}

// Names lists the tensors in file order.
func (f *File) Names() []string { return f.order }

// Info returns the header entry of a tensor.
func (f *File) Info(name string) (Info, bool) {
	in, ok := f.tensors[name]
	return in, ok
}

// Bytes returns the raw little-endian bytes of a tensor, without copying.
func (f *File) Bytes(name string) ([]byte, Info, error) {
	in, ok := f.tensors[name]
	if !ok {
		return nil, Info{}, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	return f.data[in.Begin:in.End], in, nil
}

// Float32 decodes a F32, F16 or BF16 tensor into a new float32 slice.
func (f *File) Float32(name string) ([]float32, error) {
	b, in, err := f.Bytes(name)
	if err != nil {
		return nil, err
	}
	if !in.DType.IsFloat() {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s; weights must be F32, F16 or BF16", f.Path, name, in.DType)
	}
	out := make([]float32, in.Numel())
	decode(out, b, in.DType)
	return out, nil
}

// Int64 decodes an I64 tensor (token ids in goldens).
func (f *File) Int64(name string) ([]int64, error) {
	b, in, err := f.Bytes(name)
	if err != nil {
		return nil, err
	}
	if in.DType != "I64" {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s, want I64", f.Path, name, in.DType)
	}
	out := make([]int64, in.Numel())
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

// Uint8 returns a copy of a U8 tensor (8-bit images in goldens).
func (f *File) Uint8(name string) ([]uint8, error) {
	b, in, err := f.Bytes(name)
	if err != nil {
		return nil, err
	}
	if in.DType != "U8" {
		return nil, fmt.Errorf("%s: tensor %q has dtype %s, want U8", f.Path, name, in.DType)
	}
	return append([]uint8(nil), b...), nil
}

// decode converts little-endian F32/F16/BF16 bytes to float32.
func decode(out []float32, b []byte, dt DType) {
	switch dt {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	}
}

// Release tells the kernel the mapped pages are not needed for now
// (madvise MADV_DONTNEED): they leave the process's resident set but stay
// in the page cache, and the next access maps them back. Slices obtained
// earlier stay valid. In-memory images are unaffected.
func (f *File) Release() error {
	if f.mapped == nil {
		return nil
	}
	return unix.Madvise(f.mapped, unix.MADV_DONTNEED)
}
