package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/x448/float16"
)

// randSlice returns n values uniform in [-1, 1) from a fixed seed.
func randSlice(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// nanSlice returns n NaNs, to prove an output buffer is not read.
func nanSlice(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

// eachKernel runs f once per micro-kernel this CPU supports, with it active.
func eachKernel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, mk := range testKernels() {
		t.Run(mk.name, func(t *testing.T) {
			saved := active
			active = mk
			defer func() { active = saved }()
			f(t)
		})
	}
}

// testKernels are the micro-kernels of this CPU plus, where the build's
// tile buffers allow it, a plain-Go kernel with the AVX-512 kernel's 8×32
// geometry, so that every driver's packing and blocking for that geometry
// runs on machines without AVX-512 too.
func testKernels() []*microKernel {
	ks := kernels()
	if maxMR >= 8 && maxNR >= 32 && !hasKernel(ks, 8, 32) {
		ks = append(ks, genericKernel("go8x32", 8, 32))
	}
	return ks
}

func hasKernel(ks []*microKernel, mr, nr int) bool {
	for _, k := range ks {
		if k.mr == mr && k.nr == nr {
			return true
		}
	}
	return false
}

// genericKernel is a plain-Go micro-kernel of any mr×nr tile.
func genericKernel(name string, mr, nr int) *microKernel {
	return &microKernel{name: name, mr: mr, nr: nr, mc: 16 * mr, kc: 256, fn: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
		for i := range mr {
			for j := range nr {
				var s float32
				for p := range k {
					s += a[p*mr+i] * b[p*nr+j]
				}
				v := alpha * s
				if beta != 0 {
					v += beta * c[i*ldc+j]
				}
				c[i*ldc+j] = v
			}
		}
	}}
}

// checkClose reports the worst element where |got-want| > atol + rtol*|want|.
func checkClose(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	worst, wi := 0.0, -1
	for i := range got {
		g := float64(got[i])
		d := math.Abs(g - want[i])
		lim := atol + rtol*math.Abs(want[i])
		if math.IsNaN(g) || d > lim {
			if r := d / lim; wi < 0 || r > worst || math.IsNaN(g) {
				worst, wi = r, i
			}
		}
	}
	if wi >= 0 {
		t.Errorf("%s: element %d = %g, want %g (%.3g× the tolerance)", what, wi, got[wi], want[wi], worst)
	}
}

// sameBits fails unless a and b are bit-identical.
func sameBits(t *testing.T, what string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s: element %d differs: %g vs %g", what, i, a[i], b[i])
		}
	}
}

// withThreads runs f with the worker count set to n.
func withThreads(n int, f func()) {
	saved := Threads()
	SetThreads(n)
	defer SetThreads(saved)
	f()
}

func name(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestShapeChecks makes sure short slices panic with the kernel's name.
func TestShapeChecks(t *testing.T) {
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"kernels.Sgemm: len(c)", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}},
		{"kernels.Sgemm: leading dimension of a", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 9), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}},
		{"kernels.Linear: Weights needs exactly one", func() { Linear(make([]float32, 1), make([]float32, 1), Weights{}, nil, 1, 1, 1) }},
		{"kernels.Conv2D: len(w)", func() {
			Conv2D(make([]float32, 9), make([]float32, 9), Weights{F32: make([]float32, 8)}, nil, nil, Conv2DParams{N: 1, Cin: 1, H: 3, W: 3, Cout: 1, KH: 3, KW: 3, Stride: 1, Pad: 1})
		}},
		{"kernels.GroupNorm: 3 channels", func() { GroupNorm(nil, nil, nil, nil, 1, 3, 1, 2, 1e-5, false) }},
		{"kernels.Attention: len(k)", func() {
			Attention(make([]float32, 4), make([]float32, 4), make([]float32, 3), make([]float32, 4), 1, 1, 1, 1, 4, 1, false)
		}},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, c.want) {
					t.Errorf("panic %q, want prefix %q", msg, c.want)
				}
			}()
			c.f()
		}()
	}
}

// toF16 rounds xs to float16 bit patterns.
func toF16(xs []float32) []uint16 {
	h := make([]uint16, len(xs))
	for i, v := range xs {
		h[i] = float16.Fromfloat32(v).Bits()
	}
	return h
}

// maskAdds is the tileAdds with col, row and res for bits 1, 2 and 4 of mask.
func maskAdds(mask int, col, row, res []float32) tileAdds {
	var t tileAdds
	if mask&1 != 0 {
		t.col = col
	}
	if mask&2 != 0 {
		t.row = row
	}
	if mask&4 != 0 {
		t.res = res
	}
	return t
}
