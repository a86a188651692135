package kernels

import (
	"runtime"
	"testing"

	"github.com/x448/float16"
)

// reportGFLOPS adds a GFLOP/s metric for flops floating-point operations per iteration.
func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchSgemm(b *testing.B, m, n, k int, f16 bool) {
	a := randSlice(1, m*k)
	w := randSlice(2, n*k)
	c := make([]float32, m*n)
	var w16 []uint16
	if f16 {
		w16 = make([]uint16, len(w))
		for i, v := range w {
			w16[i] = float16.Fromfloat32(v).Bits()
		}
	}
	SetThreads(runtime.GOMAXPROCS(0))
	b.ResetTimer()
	for range b.N {
		if f16 {
			SgemmF16B(false, true, m, n, k, 1, a, k, w16, k, 0, c, n)
		} else {
			Sgemm(false, true, m, n, k, 1, a, k, w, k, 0, c, n)
		}
	}
	reportGFLOPS(b, 2*float64(m)*float64(n)*float64(k))
}

// BenchmarkSgemm4096x2880x320 is the shape of SD 1.5's largest linear layers at 64×64 latents.
func BenchmarkSgemm4096x2880x320(b *testing.B)    { benchSgemm(b, 4096, 2880, 320, false) }
func BenchmarkSgemm4096x2880x320F16(b *testing.B) { benchSgemm(b, 4096, 2880, 320, true) }
func BenchmarkSgemm1024(b *testing.B)             { benchSgemm(b, 1024, 1024, 1024, false) }

func benchConv(b *testing.B, p Conv2DParams) { benchConvWith(b, p, Conv2D) }

// benchConvWith times conv, reporting direct-convolution FLOPs per second
// ("effective" GFLOP/s for the Winograd path).
func benchConvWith(b *testing.B, p Conv2DParams, conv func(out, x []float32, w Weights, bias, residual []float32, p Conv2DParams)) {
	oh, ow := p.OutHW()
	x, w, bias := randSlice(1, p.N*p.Cin*p.H*p.W), randSlice(2, p.Cout*p.Cin*p.KH*p.KW), randSlice(3, p.Cout)
	res, out := randSlice(4, p.N*p.Cout*oh*ow), make([]float32, p.N*p.Cout*oh*ow)
	SetThreads(runtime.GOMAXPROCS(0))
	b.ResetTimer()
	for range b.N {
		conv(out, x, Weights{F32: w}, bias, res, p)
	}
	reportGFLOPS(b, 2*float64(p.N*p.Cout*oh*ow)*float64(p.Cin*p.KH*p.KW))
}

// BenchmarkConv3x3 is a 3×3, 320→320 channel convolution on a 64×64 latent (SD 1.5's first U-Net level).
func BenchmarkConv3x3(b *testing.B) {
	benchConv(b, Conv2DParams{N: 1, Cin: 320, H: 64, W: 64, Cout: 320, KH: 3, KW: 3, Stride: 1, Pad: 1})
}

// BenchmarkConv3x3VAE is the VAE decoder's last stage for 256 px images: 3×3, 128→128 channels at 256×256.
func BenchmarkConv3x3VAE(b *testing.B) {
	benchConv(b, Conv2DParams{N: 1, Cin: 128, H: 256, W: 256, Cout: 128, KH: 3, KW: 3, Stride: 1, Pad: 1})
}

// BenchmarkConv3x3Low is the U-Net's 8×8 level for a CFG batch: 1280→1280 channels.
func BenchmarkConv3x3Low(b *testing.B) {
	benchConv(b, Conv2DParams{N: 2, Cin: 1280, H: 8, W: 8, Cout: 1280, KH: 3, KW: 3, Stride: 1, Pad: 1})
}

func benchAttention(b *testing.B, bt, lq, lk, h, d int) {
	q, k, v := randSlice(1, bt*lq*h*d), randSlice(2, bt*lk*h*d), randSlice(3, bt*lk*h*d)
	out := make([]float32, bt*lq*h*d)
	SetThreads(runtime.GOMAXPROCS(0))
	b.ResetTimer()
	for range b.N {
		Attention(out, q, k, v, bt, lq, lk, h, d, 0.158, false)
	}
	reportGFLOPS(b, 4*float64(bt*h*lq*lk*d))
}

// BenchmarkAttention is SD 1.5's 64×64-latent self-attention: 2 images (CFG) × 8 heads of width 40, 4096 tokens.
func BenchmarkAttention(b *testing.B) { benchAttention(b, 2, 4096, 4096, 8, 40) }

// BenchmarkSoftmaxCols is Attention's online-softmax step on one Sᵀ panel
// of the 4096-token self-attention (a block of keys × the micro-kernel's
// nr queries), in L1 as in Attention; ns per score.
func BenchmarkSoftmaxCols(b *testing.B) {
	nr := active.nr
	rows := active.mr * ceilDiv(256, active.mr)
	src := randSlice(1, rows*nr)
	s := make([]float32, len(src))
	m, l, corr := make([]float32, nr), make([]float32, nr), make([]float32, nr)
	for i := range m {
		m[i] = 1 // the reference maximum of earlier blocks: no rescaling, as in most blocks
	}
	b.ResetTimer()
	for range b.N {
		copy(s, src)
		softmaxCols(s, nr, m, l, corr)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows*nr), "ns/score")
}

// BenchmarkAttentionCross is the matching cross-attention over 77 text tokens.
func BenchmarkAttentionCross(b *testing.B) { benchAttention(b, 2, 4096, 77, 8, 40) }

// The 3×3 shapes with each algorithm forced, to place winogradAlgo's
// thresholds; the U-Net's 16×16 and 32×32 levels (CFG batch) and the VAE's
// 512-channel level are in between.
var conv3x3Shapes = []struct {
	name string
	p    Conv2DParams
}{
	{"320x64x64", Conv2DParams{N: 1, Cin: 320, H: 64, W: 64, Cout: 320}},
	{"VAE128x256x256", Conv2DParams{N: 1, Cin: 128, H: 256, W: 256, Cout: 128}},
	{"VAE512x64x64", Conv2DParams{N: 1, Cin: 512, H: 64, W: 64, Cout: 512}},
	{"VAE512x128x128", Conv2DParams{N: 1, Cin: 512, H: 128, W: 128, Cout: 512}},
	{"VAE256x256x256", Conv2DParams{N: 1, Cin: 256, H: 256, W: 256, Cout: 256}},
	{"VAE128x512x512", Conv2DParams{N: 1, Cin: 128, H: 512, W: 512, Cout: 128}},
	{"640x32x32x2", Conv2DParams{N: 2, Cin: 640, H: 32, W: 32, Cout: 640}},
	{"1280x16x16x2", Conv2DParams{N: 2, Cin: 1280, H: 16, W: 16, Cout: 1280}},
	{"1280x8x8x2", Conv2DParams{N: 2, Cin: 1280, H: 8, W: 8, Cout: 1280}},
	{"1280x4x4x2", Conv2DParams{N: 2, Cin: 1280, H: 4, W: 4, Cout: 1280}},
	{"1280x4x4", Conv2DParams{N: 1, Cin: 1280, H: 4, W: 4, Cout: 1280}},
	{"1280x8x8", Conv2DParams{N: 1, Cin: 1280, H: 8, W: 8, Cout: 1280}},
	{"1280x16x16", Conv2DParams{N: 1, Cin: 1280, H: 16, W: 16, Cout: 1280}},
	{"640x16x16", Conv2DParams{N: 1, Cin: 640, H: 16, W: 16, Cout: 640}},
	{"2560to1280x16x16x2", Conv2DParams{N: 2, Cin: 2560, H: 16, W: 16, Cout: 1280}},
	{"1280to640x32x32x2", Conv2DParams{N: 2, Cin: 1280, H: 32, W: 32, Cout: 640}},
	{"1280x2x2x2", Conv2DParams{N: 2, Cin: 1280, H: 2, W: 2, Cout: 1280}},
	{"2560to1280x8x8", Conv2DParams{N: 1, Cin: 2560, H: 8, W: 8, Cout: 1280}},
	{"4to320x64x64", Conv2DParams{N: 2, Cin: 4, H: 64, W: 64, Cout: 320}},
	{"128to3x512x512", Conv2DParams{N: 1, Cin: 128, H: 512, W: 512, Cout: 3}},
	{"320to4x64x64x2", Conv2DParams{N: 2, Cin: 320, H: 64, W: 64, Cout: 4}},
}

func benchConv3x3Forced(b *testing.B, a *wgAlgo) {
	for _, s := range conv3x3Shapes {
		p := s.p
		p.KH, p.KW, p.Stride, p.Pad = 3, 3, 1, 1
		b.Run(s.name, func(b *testing.B) {
			benchConvWith(b, p, func(out, x []float32, w Weights, bias, residual []float32, p Conv2DParams) {
				if a != nil {
					conv3x3Winograd(active, a, out, x, w, bias, residual, p)
				} else {
					conv2DDirect(active, out, x, w, bias, residual, p)
				}
			})
		})
	}
}

// BenchmarkConv3x3Direct is the im2col GEMM path at conv3x3Shapes.
func BenchmarkConv3x3Direct(b *testing.B) { benchConv3x3Forced(b, nil) }

// BenchmarkConv3x3Winograd2 is the F(2×2, 3×3) path at conv3x3Shapes; its
// GFLOP/s count the direct convolution's FLOPs.
func BenchmarkConv3x3Winograd2(b *testing.B) { benchConv3x3Forced(b, wg2) }

// BenchmarkConv3x3Winograd4 is the F(4×4, 3×3) path at conv3x3Shapes.
func BenchmarkConv3x3Winograd4(b *testing.B) { benchConv3x3Forced(b, wg4) }

// linearShapes are SD 1.5's large Linear layers in a guided step at 512 px
// (rows × in → out, fp16 weights).
var linearShapes = []struct{ rows, in, out int }{
	{8192, 320, 320}, {8192, 320, 2560}, {8192, 1280, 320},
	{2048, 640, 640}, {2048, 640, 5120}, {512, 1280, 1280}, {512, 1280, 10240},
}

// BenchmarkLinear times Linear at linearShapes with each way of packing A.
func BenchmarkLinear(b *testing.B) {
	for _, s := range linearShapes {
		for _, mode := range []struct {
			name string
			a    aPacking
		}{{"auto", aAuto}, {"shared", aShared}, {"local", aLocal}} {
			b.Run(name("%dx%dx%d/%s", s.rows, s.in, s.out, mode.name), func(b *testing.B) {
				x, w := randSlice(1, s.rows*s.in), randSlice(2, s.out*s.in)
				w16 := make([]uint16, len(w))
				for i, v := range w {
					w16[i] = float16.Fromfloat32(v).Bits()
				}
				bias, out := randSlice(3, s.out), make([]float32, s.rows*s.out)
				SetThreads(runtime.GOMAXPROCS(0))
				b.ResetTimer()
				for range b.N {
					linearWith(active, out, x, Weights{F16: w16}, bias, nil, ActNone, s.rows, s.in, s.out, mode.a)
				}
				reportGFLOPS(b, 2*float64(s.rows*s.in*s.out))
			})
		}
	}
}

// BenchmarkConv1x1VAE is the VAE decoder's 512 → 256 channel shortcut at 256×256 (512 px images).
func BenchmarkConv1x1VAE(b *testing.B) {
	benchConv(b, Conv2DParams{N: 1, Cin: 512, H: 256, W: 256, Cout: 256, KH: 1, KW: 1, Stride: 1, Pad: 0})
}

// BenchmarkLinearChannels is a transformer's proj_in and proj_out at SD 1.5's 64×64 level (CFG batch).
func BenchmarkLinearChannels(b *testing.B) {
	const n, hw, c = 2, 4096, 320
	x, w, bias, res := randSlice(1, n*hw*c), randSlice(2, c*c), randSlice(3, c), randSlice(4, n*hw*c)
	out := make([]float32, n*hw*c)
	SetThreads(runtime.GOMAXPROCS(0))
	b.Run("from", func(b *testing.B) {
		for range b.N {
			LinearFromChannels(out, x, Weights{F32: w}, bias, n, hw, c, c)
		}
		reportGFLOPS(b, 2*float64(n*hw*c*c))
	})
	b.Run("to", func(b *testing.B) {
		for range b.N {
			LinearToChannels(out, x, Weights{F32: w}, bias, res, n, hw, c, c)
		}
		reportGFLOPS(b, 2*float64(n*hw*c*c))
	})
}

// BenchmarkGroupNormVAE is the VAE decoder's last GroupNorm (+SiLU) for 512 px images: 128 channels
// in 32 groups at 512×512.
func BenchmarkGroupNormVAE(b *testing.B) {
	const c, hw = 128, 512 * 512
	x, g := randSlice(1, c*hw), randSlice(2, c)
	out := make([]float32, c*hw)
	SetThreads(runtime.GOMAXPROCS(0))
	b.ResetTimer()
	for range b.N {
		GroupNorm(out, x, g, g, 1, c, hw, 32, 1e-6, true)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c*hw), "ns/elem")
}
