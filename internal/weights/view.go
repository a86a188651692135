package weights

import (
	"encoding/binary"
	"unsafe"
)

// littleEndian reports whether the host stores numbers as safetensors does,
// so stored bytes can be read in place.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// F32 returns the tensor as float32 values: a view of the mapped bytes when
// they are stored as aligned F32 on a little-endian host, else a decoded
// copy. The view is read-only (the mapping is PROT_READ).
func (t *Tensor) F32() []float32 {
	if t.DType == F32 && littleEndian && len(t.raw) > 0 && uintptr(unsafe.Pointer(&t.raw[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&t.raw[0])), len(t.raw)/4)
	}
	return t.Float32()
}

// F16 returns the raw IEEE half-precision bits of an F16 tensor, viewed in
// place when aligned, or nil when the tensor is not F16.
func (t *Tensor) F16() []uint16 {
	if t.DType != F16 || len(t.raw) == 0 {
		return nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&t.raw[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&t.raw[0])), len(t.raw)/2)
	}
	out := make([]uint16, len(t.raw)/2)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(t.raw[2*i:])
	}
	return out
}
