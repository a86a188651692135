package vae

import (
	"os"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

// sdVAEConfig is the vae/config.json of Stable Diffusion 1.5 and 2.1.
const sdVAEConfig = `{
  "_class_name": "AutoencoderKL",
  "_diffusers_version": "0.8.0",
  "act_fn": "silu",
  "block_out_channels": [128, 256, 512, 512],
  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  "in_channels": 3,
  "latent_channels": 4,
  "layers_per_block": 2,
  "norm_num_groups": 32,
  "out_channels": 3,
  "sample_size": 768,
  "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
}`

// TestParseConfigRealModels checks that real VAE configs load with their
// scale factor.
func TestParseConfigRealModels(t *testing.T) {
	for _, name := range []string{"", "tiny-sd1", "tiny-sd2"} {
		data := []byte(sdVAEConfig)
		if name != "" {
			var err error
			if data, err = os.ReadFile(golden.Path(t, name, "vae", "config.json")); err != nil {
				t.Fatal(err)
			}
		}
		_, a, err := ParseConfig("config.json", data)
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if a.ScaleFactor() != 8 || a.Latent != 4 || a.Layers != 2 {
			t.Errorf("%q: scale factor %d, %d latent channels, %d layers; want 8, 4, 2", name, a.ScaleFactor(), a.Latent, a.Layers)
		}
	}
}

// TestParseConfigBounds checks that values sizing the decoder far beyond
// any real model are refused with one line naming the file and field.
func TestParseConfigBounds(t *testing.T) {
	const file = "vae/config.json"
	blocks := func(n int) map[string]any {
		ch, types := make([]int, n), make([]string, n)
		for i := range ch {
			ch[i], types[i] = 32, "UpDecoderBlock2D"
		}
		return map[string]any{"block_out_channels": ch, "up_block_types": types}
	}
	for _, tc := range []struct {
		kv   map[string]any
		want string
	}{
		{map[string]any{"layers_per_block": 1000000000}, "layers_per_block = 1000000000 is above 100, far beyond any real model"},
		{map[string]any{"latent_channels": 1 << 20}, "latent_channels = 1048576 is above 65536, far beyond any real model"},
		{map[string]any{"out_channels": 1 << 40}, "out_channels = 1099511627776 is above 65536, far beyond any real model"},
		{map[string]any{"norm_num_groups": 1 << 17}, "norm_num_groups = 131072 is above 65536, far beyond any real model"},
		{map[string]any{"block_out_channels": []int{128, 1 << 40, 512, 512}}, "block_out_channels[1] = 1099511627776 is above 65536, far beyond any real model"},
		{blocks(16), "block_out_channels has 16 entries, more than 15: the scale factor 2^(entries-1) would exceed roentgen's 16384 pixels a side"},
		{blocks(70), "block_out_channels has 70 entries, more than 15: the scale factor 2^(entries-1) would exceed roentgen's 16384 pixels a side"},
	} {
		_, _, err := ParseConfig(file, golden.WithKeys(t, sdVAEConfig, tc.kv))
		if want := file + ": " + tc.want; err == nil || err.Error() != want {
			t.Errorf("%v:\n got %v\nwant %s", tc.kv, err, want)
		}
	}
	_, a, err := ParseConfig(file, golden.WithKeys(t, sdVAEConfig, blocks(15)))
	if err != nil || a.ScaleFactor() != 16384 {
		t.Errorf("15 blocks: scale factor %d, %v; want 16384", a.ScaleFactor(), err)
	}
	if _, _, err := ParseConfig(file, golden.WithKeys(t, sdVAEConfig, map[string]any{"layers_per_block": 100, "block_out_channels": []int{65536, 65536, 65536, 65536}})); err != nil {
		t.Errorf("the bounds: %v", err)
	}
}
