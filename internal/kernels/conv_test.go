package kernels

import (
	"testing"

	"github.com/x448/float16"
)

// naiveConv is Conv2D's reference loop in float64.
func naiveConv(x, w, bias, res []float32, p Conv2DParams) []float64 {
	oh, ow := p.OutHW()
	out := make([]float64, p.N*p.Cout*oh*ow)
	for n := range p.N {
		for co := range p.Cout {
			for oy := range oh {
				for ox := range ow {
					var s float64
					for ci := range p.Cin {
						for ky := range p.KH {
							for kx := range p.KW {
								iy, ix := oy*p.Stride-p.Pad+ky, ox*p.Stride-p.Pad+kx
								if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
									s += float64(x[((n*p.Cin+ci)*p.H+iy)*p.W+ix]) * float64(w[((co*p.Cin+ci)*p.KH+ky)*p.KW+kx])
								}
							}
						}
					}
					i := ((n*p.Cout+co)*oh+oy)*ow + ox
					if bias != nil {
						s += float64(bias[co])
					}
					if res != nil {
						s += float64(res[i])
					}
					out[i] = s
				}
			}
		}
	}
	return out
}

var convCases = []Conv2DParams{
	{N: 1, Cin: 1, H: 1, W: 1, Cout: 1, KH: 1, KW: 1, Stride: 1},
	{N: 2, Cin: 3, H: 5, W: 7, Cout: 5, KH: 1, KW: 1, Stride: 1},
	{N: 1, Cin: 4, H: 9, W: 11, Cout: 7, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 2, Cin: 5, H: 8, W: 7, Cout: 9, KH: 3, KW: 3, Stride: 2, Pad: 1},
	{N: 1, Cin: 3, H: 9, W: 9, Cout: 4, KH: 3, KW: 3, Stride: 2},
	{N: 1, Cin: 6, H: 7, W: 5, Cout: 3, KH: 3, KW: 3, Stride: 1},
	{N: 1, Cin: 2, H: 6, W: 6, Cout: 3, KH: 1, KW: 1, Stride: 2, Pad: 1},
	{N: 1, Cin: 37, H: 13, W: 19, Cout: 33, KH: 3, KW: 3, Stride: 1, Pad: 1},
	// Wide rows: interior panels take the gather path (gatherRows).
	{N: 2, Cin: 3, H: 6, W: 77, Cout: 5, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 1, Cin: 4, H: 5, W: 70, Cout: 7, KH: 3, KW: 3, Stride: 1},
	// More output pixels than rowAddsInKernel: bias and residual in an epilogue.
	{N: 2, Cin: 3, H: 131, W: 127, Cout: 7, KH: 1, KW: 1, Stride: 1},
}

func TestConv2D(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, p := range convCases {
			oh, ow := p.OutHW()
			x := randSlice(1, p.N*p.Cin*p.H*p.W)
			w := randSlice(2, p.Cout*p.Cin*p.KH*p.KW)
			bias := randSlice(3, p.Cout)
			res := randSlice(4, p.N*p.Cout*oh*ow)
			k := float64(p.Cin * p.KH * p.KW)
			for _, withRes := range []bool{false, true} {
				r := res
				if !withRes {
					r = nil
				}
				out := nanSlice(len(res))
				Conv2D(out, x, Weights{F32: w}, bias, r, p)
				checkClose(t, name("%+v res=%v", p, withRes), out, naiveConv(x, w, bias, r, p), 1e-5*k, 1e-5)
			}
			w16 := make([]uint16, len(w))
			for i, v := range w {
				w16[i] = float16.Fromfloat32(v).Bits()
				w[i] = float16.Frombits(w16[i]).Float32()
			}
			out := nanSlice(len(res))
			Conv2D(out, x, Weights{F16: w16}, nil, nil, p)
			checkClose(t, name("%+v f16", p), out, naiveConv(x, w, nil, nil, p), 1e-5*k, 1e-5)
		}
	})
}

func TestLinear(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {77, 40, 33}, {2, 320, 1280}, {19, 130, 70}} {
			rows, inF, outF := sz[0], sz[1], sz[2]
			x, w, bias := randSlice(1, rows*inF), randSlice(2, outF*inF), randSlice(3, outF)
			want := make([]float64, rows*outF)
			for r := range rows {
				for o := range outF {
					s := float64(bias[o])
					for i := range inF {
						s += float64(x[r*inF+i]) * float64(w[o*inF+i])
					}
					want[r*outF+o] = s
				}
			}
			out := nanSlice(rows * outF)
			Linear(out, x, Weights{F32: w}, bias, rows, inF, outF)
			checkClose(t, name("linear %v", sz), out, want, 1e-5*float64(inF), 1e-5)
			// The same product with W rounded to fp16, and no bias.
			w16 := make([]uint16, len(w))
			for i, v := range w {
				w16[i] = float16.Fromfloat32(v).Bits()
			}
			for r := range rows {
				for o := range outF {
					var s float64
					for i := range inF {
						s += float64(x[r*inF+i]) * float64(float16.Frombits(w16[o*inF+i]).Float32())
					}
					want[r*outF+o] = s
				}
			}
			Linear(out, x, Weights{F16: w16}, nil, rows, inF, outF)
			checkClose(t, name("linear f16 %v", sz), out, want, 1e-5*float64(inF), 1e-5)
		}
	})
}
