package unet

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
	"github.com/roentgen-dev/roentgen/internal/weights"
	"github.com/x448/float16"
)

// TestHalfPrecisionWeights checks that F16 and BF16 weights compute exactly
// what F32 weights holding the same (rounded) values compute: fp16 stays
// fp16 in the mapped file and is decoded inside the GEMM packing, bf16 is
// decoded at load. The reference is the F32 path, which the goldens test.
func TestHalfPrecisionWeights(t *testing.T) {
	src, err := weights.Open(golden.Path(t, "tiny-sd2", "unet", "diffusion_pytorch_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	type conv struct {
		dtype  weights.DType
		encode func(float32) (uint16, float32) // stored bits and the value they hold
	}
	for _, c := range []conv{
		{weights.F16, func(v float32) (uint16, float32) { h := float16.Fromfloat32(v); return h.Bits(), h.Float32() }},
		{weights.BF16, func(v float32) (uint16, float32) {
			b := uint16((math.Float32bits(v) + 0x8000) >> 16) // round half up; any rounding works here
			return b, math.Float32frombits(uint32(b) << 16)
		}},
	} {
		var half, rounded []weights.Record
		for _, r := range src.Records() {
			v, _ := src.Float32(r.Name)
			hb, fb := make([]byte, 2*len(v)), make([]byte, 4*len(v))
			for i, x := range v {
				bits, back := c.encode(x)
				binary.LittleEndian.PutUint16(hb[2*i:], bits)
				binary.LittleEndian.PutUint32(fb[4*i:], math.Float32bits(back))
			}
			half = append(half, weights.Record{Name: r.Name, DType: c.dtype, Shape: r.Shape, Data: hb})
			rounded = append(rounded, weights.Record{Name: r.Name, DType: weights.F32, Shape: r.Shape, Data: fb})
		}
		hp, fp := filepath.Join(dir, string(c.dtype)+".safetensors"), filepath.Join(dir, string(c.dtype)+"-as-f32.safetensors")
		if err := weights.WriteFile(hp, half, nil); err != nil {
			t.Fatal(err)
		}
		if err := weights.WriteFile(fp, rounded, nil); err != nil {
			t.Fatal(err)
		}
		g := golden.Open(t, "golden", "tiny-sd2", "unet.safetensors")
		x, ctx := golden.Float32(t, g, "unet_0.sample"), golden.Float32(t, g, "unet_0.encoder_hidden_states")
		var outs [2][]float32
		for i, p := range []string{hp, fp} {
			m := fromFile(t, p, load(t, "tiny-sd2").Arch)
			r := NewRunner(m)
			out, err := r.Predict(x, 981, ctx, 2, 8, 8)
			if err != nil {
				t.Fatal(err)
			}
			outs[i] = append([]float32(nil), out...)
			r.Close()
		}
		golden.Close(t, string(c.dtype), outs[0], outs[1], 1e-6)
	}
}

func fromFile(t *testing.T, path string, a Arch) *Model {
	t.Helper()
	f, err := weights.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	set, err := weights.NewSet(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(set, a)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOddLatentSizes runs latents whose sides are not multiples of
// 2^(down-samplers): each upsampler then takes its skip tensor's exact size
// (6x10 → 3x5 → 2x3 → 1x2 and back), as diffusers does.
func TestOddLatentSizes(t *testing.T) {
	m := load(t, "tiny-sd1")
	r := NewRunner(m)
	defer r.Close()
	for _, hw := range [][2]int{{6, 10}, {5, 7}, {1, 1}, {9, 4}} {
		h, w := hw[0], hw[1]
		x := make([]float32, 2*4*h*w)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)))
		}
		out, err := r.Predict(x, 500, make([]float32, 2*77*32), 2, h, w)
		if err != nil {
			t.Fatalf("%dx%d: %v", h, w, err)
		}
		if len(out) != len(x) {
			t.Fatalf("%dx%d: %d outputs", h, w, len(out))
		}
		for _, v := range out {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%dx%d: non-finite output", h, w)
			}
		}
	}
}
