package kernels

import "math"

// F16ToF32 decodes IEEE binary16 bits into float32, exactly:
//
//	for i := range dst {
//		dst[i] = float16.Frombits(src[i]).Float32()
//	}
func F16ToF32(dst []float32, src []uint16) {
	n := len(dst)
	if n > 1<<16 {
		parallelRange(n, 1<<15, func(lo, hi int) { f16ToF32(dst[lo:hi], src[lo:hi]) })
		return
	}
	f16ToF32(dst, src)
}

// BF16ToF32 decodes bfloat16 bits into float32, exactly:
//
//	for i := range dst {
//		dst[i] = math.Float32frombits(uint32(src[i]) << 16)
//	}
func BF16ToF32(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

// f16ToF32Go is the pure-Go decoder behind F16ToF32.
func f16ToF32Go(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = f16Bits(h)
	}
}

// f16Bits decodes one fp16 value.
func f16Bits(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		// Zero or subnormal: mant·2⁻²⁴, exact in float32.
		return math.Float32frombits(sign | math.Float32bits(float32(mant)*(1.0/(1<<24))))
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
