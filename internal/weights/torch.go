package weights

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strings"
)

// PyTorch checkpoints (pytorch_model.bin, diffusion_pytorch_model.bin) as
// torch.save writes them since PyTorch 1.6: a zip archive whose entries are
// stored uncompressed, holding <prefix>/data.pkl, the pickled state dict,
// and one entry <prefix>/data/<key> per tensor storage. The pickle is read
// by the restricted unpickler (pickle.go), which accepts only the names a
// state dict refers to, so a checkpoint cannot run code; the tensors then
// stay in the memory-mapped archive like safetensors data.

// maxPickle bounds data.pkl: a state dict's pickle takes ~150 bytes per
// tensor (SD 1.5's U-Net: 686 tensors, ~100 KB), and the unpickler's
// memory is a small multiple of its size.
const maxPickle = 16 << 20

// isZip reports whether image starts like a zip archive.
func isZip(image []byte) bool { return bytes.HasPrefix(image, []byte("PK\x03\x04")) }

// legacyTorchMagic starts a checkpoint in torch.save's format before 1.6:
// protocol 2, then the magic number 0x1950a86a20f9469cfc6c as a LONG1.
var legacyTorchMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// torchStorages maps torch's typed storage classes to element types.
var torchStorages = map[string]DType{
	"FloatStorage": F32, "HalfStorage": F16, "BFloat16Storage": BF16, "DoubleStorage": "F64",
	"LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
	"ByteStorage": "U8", "BoolStorage": "BOOL",
}

var (
	gOrderedDict   = pyGlobal{"collections", "OrderedDict"}
	gRebuildTensor = pyGlobal{"torch._utils", "_rebuild_tensor_v2"}
	gRebuildParam  = pyGlobal{"torch._utils", "_rebuild_parameter"}
)

type torchStorage struct {
	dtype DType
	key   string
	numel int64
}

type torchTensor struct {
	st     *torchStorage
	offset int64 // in elements
	shape  []int
	stride []int64
}

// parseTorch reads the zip image of a torch.save checkpoint.
func parseTorch(name string, image []byte) (*File, error) {
	zr, err := zip.NewReader(bytes.NewReader(image), int64(len(image)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable PyTorch checkpoint (zip archive): %v", name, err)
	}
	entries := map[string]*zip.File{}
	var pkl string
	for _, e := range zr.File {
		entries[e.Name] = e
		if path.Base(e.Name) == "data.pkl" && strings.Count(e.Name, "/") <= 1 {
			if pkl != "" {
				return nil, fmt.Errorf("%s: holds two pickles, %s and %s (not one torch.save checkpoint)", name, pkl, e.Name)
			}
			pkl = e.Name
		}
	}
	if pkl == "" {
		return nil, fmt.Errorf("%s: a zip archive without data.pkl: not a PyTorch checkpoint", name)
	}
	prefix := strings.TrimSuffix(pkl, "data.pkl")
	if e := entries[prefix+"byteorder"]; e != nil {
		b, err := readEntry(e, 16)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: corrupt zip entry: %v", name, e.Name, err)
		}
		if string(b) != "little" {
			return nil, fmt.Errorf("%s: tensors are stored %q-endian; roentgen reads little-endian checkpoints", name, b)
		}
	}
	if m := entries[pkl].Method; m != zip.Store {
		return nil, fmt.Errorf("%s: %s is compressed (method %d); torch.save stores it uncompressed", name, pkl, m)
	}
	data, err := readEntry(entries[pkl], maxPickle)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: corrupt zip entry: %v", name, pkl, err)
	}
	root, err := unpickle(data, torchHooks())
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", name, pkl, err)
	}
	dict, ok := root.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%s: %s holds a Python %s, not a state dict of tensors", name, pkl, pyType(root))
	}
	f := &File{Path: name, data: image, tensors: make(map[string]Info, len(dict.keys))}
	for _, k := range dict.keys {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%s: state dict key %v is not a string", name, k)
		}
		t, ok := dict.vals[k].(*torchTensor)
		if !ok {
			return nil, fmt.Errorf("%s: %q is a Python %s, not a tensor", name, key, pyType(dict.vals[k]))
		}
		in, err := t.info(key, entries[prefix+"data/"+t.st.key], int64(len(image)))
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", name, key, err)
		}
		f.tensors[key] = in
		f.order = append(f.order, key)
	}
	sort.SliceStable(f.order, func(i, j int) bool { return f.tensors[f.order[i]].Begin < f.tensors[f.order[j]].Begin })
	return f, nil
}

// info places a tensor in the archive: its storage entry must be stored
// uncompressed (as torch.save writes it), hold the storage, and the tensor
// must be a row-major run of it.
func (t *torchTensor) info(name string, e *zip.File, size int64) (Info, error) {
	es := t.st.dtype.Size()
	if e == nil {
		return Info{}, fmt.Errorf("its storage data/%s is not in the archive", t.st.key)
	}
	if e.Method != zip.Store {
		return Info{}, fmt.Errorf("its storage %s is compressed (method %d); torch.save stores tensors uncompressed", e.Name, e.Method)
	}
	off, err := e.DataOffset()
	if err != nil {
		return Info{}, fmt.Errorf("its storage %s: corrupt zip entry: %v", e.Name, err)
	}
	// Unsigned: a declared size of 2^63 or more must not wrap around.
	if off < 0 || off > size || e.UncompressedSize64 > uint64(size-off) ||
		t.st.numel < 0 || t.st.numel > math.MaxInt64/es || uint64(t.st.numel*es) > e.UncompressedSize64 {
		return Info{}, fmt.Errorf("its storage %s (%d bytes at %d of a %d-byte file) does not hold %d %s elements", e.Name, e.UncompressedSize64, off, size, t.st.numel, t.st.dtype)
	}
	numel, want := int64(1), int64(1)
	for i := len(t.shape) - 1; i >= 0; i-- {
		d := int64(t.shape[i])
		if d != 1 && t.stride[i] != want {
			return Info{}, fmt.Errorf("shape %v with strides %v is not stored row-major (save a contiguous copy)", t.shape, t.stride)
		}
		if d != 0 && numel > t.st.numel/d {
			return Info{}, fmt.Errorf("shape %v has more elements than its %d-element storage %s", t.shape, t.st.numel, e.Name)
		}
		want *= d
		numel *= d
	}
	if t.offset < 0 || t.offset > t.st.numel || numel > t.st.numel-t.offset {
		return Info{}, fmt.Errorf("%d elements at offset %d run past its %d-element storage %s", numel, t.offset, t.st.numel, e.Name)
	}
	begin := off + t.offset*es
	return Info{Name: name, DType: t.st.dtype, Shape: t.shape, Begin: begin, End: begin + numel*es}, nil
}

// torchHooks are the unpickler hooks of a state dict: the only callables
// are OrderedDict (the dict itself and each tensor's empty backward hooks),
// the tensor and parameter rebuilders, and storage classes as type tags.
func torchHooks() pickleHooks {
	storages := map[string]*torchStorage{}
	return pickleHooks{
		global: func(g pyGlobal) error {
			if g == gOrderedDict || g == gRebuildTensor || g == gRebuildParam {
				return nil
			}
			if _, ok := torchStorages[g.name]; ok && g.module == "torch" {
				return nil
			}
			return fmt.Errorf("refers to %s, which a state dict of tensors does not use (roentgen runs no pickled code)", g)
		},
		call: func(g pyGlobal, args pyTuple) (any, error) {
			switch g {
			case gOrderedDict:
				if len(args) != 0 {
					return nil, fmt.Errorf("OrderedDict with %d arguments", len(args))
				}
				return newDict(), nil
			case gRebuildParam:
				if len(args) != 3 {
					return nil, fmt.Errorf("%s with %d arguments, want 3", g, len(args))
				}
				if t, ok := args[0].(*torchTensor); ok {
					return t, nil
				}
				return nil, fmt.Errorf("%s of a %s", g, pyType(args[0]))
			case gRebuildTensor:
				return rebuildTensor(args)
			}
			return nil, fmt.Errorf("%s cannot be called", g)
		},
		build: func(obj, state any) (any, error) {
			if d, ok := obj.(*pyDict); ok {
				return d, nil // a state dict's _metadata (module versions)
			}
			return nil, fmt.Errorf("cannot set the state of a %s", pyType(obj))
		},
		persistent: func(pid any) (any, error) {
			t, ok := pid.(pyTuple)
			if !ok || len(t) != 5 || t[0] != "storage" {
				return nil, fmt.Errorf("persistent id (a %s) is not a tensor storage", pyType(pid))
			}
			g, ok1 := t[1].(pyGlobal)
			key, ok2 := t[2].(string)
			numel, ok3 := t[4].(int64)
			if !ok1 || !ok2 || !ok3 || g.module != "torch" || torchStorages[g.name] == "" || len(key) > 64 {
				return nil, fmt.Errorf("malformed storage id (a %s of %d items)", pyType(pid), len(t))
			}
			st := &torchStorage{dtype: torchStorages[g.name], key: key, numel: numel}
			if old, ok := storages[key]; ok {
				if *old != *st {
					return nil, fmt.Errorf("storage %s is described twice, as %d %s and as %d %s", key, old.numel, old.dtype, numel, st.dtype)
				}
				return old, nil
			}
			storages[key] = st
			return st, nil
		},
	}
}

// rebuildTensor reads the arguments of torch._utils._rebuild_tensor_v2:
// (storage, storage_offset, size, stride, requires_grad, backward_hooks
// [, metadata]).
func rebuildTensor(args pyTuple) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("%s with %d arguments, want 6 or 7", gRebuildTensor, len(args))
	}
	st, ok := args[0].(*torchStorage)
	if !ok {
		return nil, fmt.Errorf("%s of a %s, not a storage", gRebuildTensor, pyType(args[0]))
	}
	offset, ok := args[1].(int64)
	size, ok1 := ints(args[2])
	stride, ok2 := ints(args[3])
	if !ok || !ok1 || !ok2 || len(size) != len(stride) {
		return nil, fmt.Errorf("%s: offset, size and stride must be an int and two tuples of ints of one length, got %s, %s, %s", gRebuildTensor, pyType(args[1]), pyType(args[2]), pyType(args[3]))
	}
	shape := make([]int, len(size))
	for i, d := range size {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("bad dimension %d in shape %v", d, size)
		}
		shape[i] = int(d)
	}
	return &torchTensor{st: st, offset: offset, shape: shape, stride: stride}, nil
}

func ints(v any) ([]int64, bool) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		if out[i], ok = x.(int64); !ok {
			return nil, false
		}
	}
	return out, true
}

// pyType names a pickled value's type for errors.
func pyType(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case *pyDict:
		return "dict"
	case *pyList:
		return "list"
	case pyTuple:
		return "tuple"
	case pyGlobal:
		return v.String()
	case *torchStorage:
		return "storage"
	case *torchTensor:
		return "tensor"
	}
	switch v.(type) {
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("%T", v)
}

// readEntry reads a whole archive entry of at most limit bytes (archive/zip
// checks its CRC).
func readEntry(e *zip.File, limit uint64) ([]byte, error) {
	if e.UncompressedSize64 > limit {
		return nil, fmt.Errorf("%d bytes is more than the %d expected", e.UncompressedSize64, limit)
	}
	r, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, int64(limit)))
}
