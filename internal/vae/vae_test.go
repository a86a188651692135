package vae

import (
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

func load(t *testing.T, fixture string) *Decoder {
	t.Helper()
	file, data, set := golden.Component(t, golden.Path(t, fixture), "vae")
	_, arch, err := ParseConfig(file, data)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(set, arch)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestGolden decodes the fixture latents (testdata/golden/*/vae.safetensors,
// case vae_0: decoder_in = latents / scaling_factor, decoder_out =
// vae.decode(decoder_in).sample with diffusers 0.25.1) within
// max|got-want| <= 1e-4·max(1, max|want|). tiny-sd1 uses the legacy
// query/key/value/proj_attn attention names and a config without
// scaling_factor (default 0.18215); tiny-sd2 the current names.
func TestGolden(t *testing.T) {
	for _, fixture := range []string{"tiny-sd1", "tiny-sd2"} {
		t.Run(fixture, func(t *testing.T) {
			g := golden.Open(t, "golden", fixture, "vae.safetensors")
			r := NewRunner(load(t, fixture))
			defer r.Close()
			got, err := r.Decode(golden.Float32(t, g, "vae_0.latents"), 1, 8, 8)
			if err != nil {
				t.Fatal(err)
			}
			golden.Close(t, "decoder_in", r.in, golden.Float32(t, g, "vae_0.decoder_in"), 0)
			golden.Close(t, "decoder_out", got, golden.Float32(t, g, "vae_0.decoder_out"), 1e-4)
		})
	}
}
