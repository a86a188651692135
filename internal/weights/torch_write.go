package weights

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteTorchFile writes records as torch.save writes a state dict (see
// torch.go): a zip archive named after path's stem, with the pickled
// OrderedDict, one storage per tensor stored uncompressed at a 64-byte
// aligned offset, and the byteorder and version records. For tests and
// for random-weight models in PyTorch's format; written atomically.
func WriteTorchFile(path string, records []Record) error {
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return writeAtomic(path, func(w io.Writer) error { return writeTorch(w, stem, records) })
}

// storageClass is the inverse of torchStorages.
func storageClass(dt DType) string {
	for name, d := range torchStorages {
		if d == dt {
			return name
		}
	}
	return ""
}

// pickledTensor is one state dict entry as writeTorch pickles it.
type pickledTensor struct {
	name, class, key string // class: the storage class, e.g. "FloatStorage"
	numel, offset    int64  // of the storage; the tensor's offset in it
	shape, stride    []int64
}

// pickleStateDict pickles tensors as torch.save does (protocol 2): an
// OrderedDict of torch._utils._rebuild_tensor_v2 calls whose storages are
// persistent ids ('storage', class, key, 'cpu', numel).
func pickleStateDict(tensors []pickledTensor) []byte {
	var pkl bytes.Buffer
	op := func(code byte, args ...string) {
		pkl.WriteByte(code)
		for _, a := range args {
			pkl.WriteString(a)
		}
	}
	str := func(s string) { op('X', string(binary.LittleEndian.AppendUint32(nil, uint32(len(s)))), s) }
	long := func(x int64) { op(0x8a, "\x08", string(binary.LittleEndian.AppendUint64(nil, uint64(x)))) } // LONG1, 8 bytes
	ints := func(xs []int64) {
		op('(')
		for _, x := range xs {
			long(x)
		}
		op('t')
	}
	newOrderedDict := func() { op('c', "collections\nOrderedDict\n"); op(')'); op('R') }
	op(0x80, "\x02")
	newOrderedDict()
	op('(')
	for _, t := range tensors {
		str(t.name)
		op('c', "torch._utils\n_rebuild_tensor_v2\n")
		op('(')
		op('(')
		str("storage")
		op('c', "torch\n"+t.class+"\n")
		str(t.key)
		str("cpu")
		long(t.numel)
		op('t')
		op('Q')
		long(t.offset)
		ints(t.shape)
		ints(t.stride)
		op(0x89) // requires_grad = False
		newOrderedDict()
		op('t')
		op('R')
	}
	op('u')
	op('.')
	return pkl.Bytes()
}

func writeTorch(w io.Writer, stem string, records []Record) error {
	var tensors []pickledTensor
	seen := map[string]bool{}
	for i, r := range records {
		class := storageClass(r.DType)
		numel := (Info{Shape: r.Shape}).Numel()
		if class == "" || numel*r.DType.Size() != int64(len(r.Data)) || seen[r.Name] {
			return fmt.Errorf("tensor %q: cannot write %d bytes of %s %v (or written twice)", r.Name, len(r.Data), r.DType, r.Shape)
		}
		seen[r.Name] = true
		shape, stride := make([]int64, len(r.Shape)), make([]int64, len(r.Shape))
		n := int64(1)
		for d := len(r.Shape) - 1; d >= 0; d-- {
			shape[d], stride[d] = int64(r.Shape[d]), n
			n *= int64(r.Shape[d])
		}
		tensors = append(tensors, pickledTensor{name: r.Name, class: class, key: strconv.Itoa(i), numel: numel, shape: shape, stride: stride})
	}
	pkl := pickleStateDict(tensors)

	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	zw := zip.NewWriter(cw)
	entry := func(name string, data []byte) error {
		name = stem + "/" + name
		if err := zw.Flush(); err != nil {
			return err
		}
		pad := int(-(cw.n + 30 + int64(len(name)) + 4) & 63)
		extra := append([]byte{'F', 'B', byte(pad), byte(pad >> 8)}, make([]byte, pad)...)
		fw, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, Extra: extra,
			CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	if err := entry("data.pkl", pkl); err != nil {
		return err
	}
	if err := entry("byteorder", []byte("little")); err != nil {
		return err
	}
	for i, r := range records {
		if err := entry("data/"+strconv.Itoa(i), r.Data); err != nil {
			return err
		}
	}
	if err := entry("version", []byte("3\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
