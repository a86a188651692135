package kernels

import (
	"math"
	"testing"
)

// naiveAttention is Attention's reference loop in float64.
func naiveAttention(q, k, v []float32, b, lq, lk, h, d int, scale float32, causal bool) []float64 {
	out := make([]float64, b*lq*h*d)
	s := make([]float64, lk)
	for bi := range b {
		for hi := range h {
			for i := range lq {
				mx := math.Inf(-1)
				for j := range lk {
					s[j] = math.Inf(-1)
					if causal && j > i {
						continue
					}
					var dot float64
					for dd := range d {
						dot += float64(q[((bi*lq+i)*h+hi)*d+dd]) * float64(k[((bi*lk+j)*h+hi)*d+dd])
					}
					s[j] = dot * float64(scale)
					mx = math.Max(mx, s[j])
				}
				var sum float64
				for j := range lk {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for dd := range d {
					var o float64
					for j := range lk {
						o += s[j] * float64(v[((bi*lk+j)*h+hi)*d+dd])
					}
					out[((bi*lq+i)*h+hi)*d+dd] = o / sum
				}
			}
		}
	}
	return out
}

var attnCases = []struct {
	b, lq, lk, h, d int
	causal          bool
}{
	{1, 1, 1, 1, 1, false},
	{1, 5, 3, 2, 3, false},
	{2, 77, 77, 3, 64, true},
	{1, 70, 77, 2, 40, false},
	{1, 130, 300, 2, 40, false},
	{1, 33, 600, 1, 80, false},
	{2, 9, 17, 1, 160, false},
	{1, 300, 300, 1, 3, true},
	// Query blocks between 64 and 512 (attnQueries), the last one partial.
	{1, 1100, 300, 2, 24, false},
	{1, 2100, 260, 4, 8, true},
}

func TestAttention(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, c := range attnCases {
			q := randSlice(1, c.b*c.lq*c.h*c.d)
			k := randSlice(2, c.b*c.lk*c.h*c.d)
			v := randSlice(3, c.b*c.lk*c.h*c.d)
			for i := range q {
				q[i] *= 4 // peaky softmax rows
			}
			scale := float32(1 / math.Sqrt(float64(c.d)))
			out := nanSlice(len(q))
			Attention(out, q, k, v, c.b, c.lq, c.lk, c.h, c.d, scale, c.causal)
			want := naiveAttention(q, k, v, c.b, c.lq, c.lk, c.h, c.d, scale, c.causal)
			checkClose(t, name("%+v", c), out, want, 2e-6*math.Sqrt(float64(c.d)), 1e-5)
		}
	})
}

func TestSoftmaxColsFlushes(t *testing.T) {
	inf := float32(math.Inf(-1))
	s := []float32{inf, 0, inf, 1}
	m, l, corr := []float32{inf, inf}, []float32{0, 0}, []float32{0, 0}
	softmaxCols(s, 2, m, l, corr)
	if s[0] != 0 || s[2] != 0 || l[0] != 0 || m[0] != inf || corr[0] != 1 {
		t.Errorf("all-masked lane: s=%v m=%v l=%v corr=%v", s, m, l, corr)
	}
	if want := 1 + math.Exp2(-1); math.Abs(float64(l[1])-want) > 1e-6 || m[1] != 1 { // base 2: see rescaleSlack
		t.Errorf("lane 1: m=%v l=%v, want 1, %v", m[1], l[1], want)
	}
}

// TestSoftmaxColsTwin compares the dispatched softmaxCols (assembly on amd64)
// with softmaxColsGo on panels with masked keys and all-masked lanes.
func TestSoftmaxColsTwin(t *testing.T) {
	inf := float32(math.Inf(-1))
	for _, w := range []int{8, 16, 32} {
		for _, rows := range []int{1, 6, 37} {
			s := randSlice(uint64(w*rows), rows*w)
			for i := range s {
				s[i] *= 30
				if i%7 == 3 || i%w == 1 {
					s[i] = inf // lane 1 is masked everywhere
				}
			}
			m, l, corr := randSlice(1, w), randSlice(2, w), make([]float32, w)
			m[1], l[1] = inf, 0
			s2, m2, l2, corr2 := append([]float32(nil), s...), append([]float32(nil), m...), append([]float32(nil), l...), make([]float32, w)
			softmaxCols(s, w, m, l, corr)
			softmaxColsGo(s2, w, m2, l2, corr2)
			for _, c := range []struct {
				what      string
				got, want []float32
			}{{"s", s, s2}, {"m", m, m2}, {"l", l, l2}, {"corr", corr, corr2}} {
				want := make([]float64, len(c.want))
				for i, v := range c.want {
					want[i] = float64(v)
				}
				checkClose(t, name("w%d rows%d %s", w, rows, c.what), c.got, want, 0, 4e-7) // a flushed 0 must stay 0
			}
		}
	}
}

// TestTransposeTo checks transposeTo against its definition, including
// that the columns of dst past lanes (another head's outputs) are left alone.
func TestTransposeTo(t *testing.T) {
	for _, c := range []struct{ lanes, n, lds, ldd int }{{1, 1, 1, 1}, {8, 8, 8, 8}, {40, 37, 64, 120}, {13, 21, 30, 17}, {16, 100, 100, 48}} {
		src := randSlice(1, c.lanes*c.lds)
		dst := nanSlice(c.n * c.ldd)
		transposeTo(dst, src, c.lds, c.ldd, c.lanes, c.n)
		for i := range c.n {
			for l := range c.ldd {
				got := dst[i*c.ldd+l]
				if l >= c.lanes {
					if !math.IsNaN(float64(got)) {
						t.Fatalf("%+v: wrote dst[%d][%d] past the lanes", c, i, l)
					}
					continue
				}
				if want := src[l*c.lds+i]; got != want {
					t.Fatalf("%+v: dst[%d][%d] = %v, want %v", c, i, l, got, want)
				}
			}
		}
	}
}
