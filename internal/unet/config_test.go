package unet

import (
	"os"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/config"
	"github.com/roentgen-dev/roentgen/internal/golden"
)

// sd15Config is runwayml/stable-diffusion-v1-5's unet/config.json.
const sd15Config = `{
  "_class_name": "UNet2DConditionModel",
  "_diffusers_version": "0.6.0",
  "act_fn": "silu",
  "attention_head_dim": 8,
  "block_out_channels": [320, 640, 1280, 1280],
  "center_input_sample": false,
  "cross_attention_dim": 768,
  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  "downsample_padding": 1,
  "flip_sin_to_cos": true,
  "freq_shift": 0,
  "in_channels": 4,
  "layers_per_block": 2,
  "mid_block_scale_factor": 1,
  "norm_eps": 1e-05,
  "norm_num_groups": 32,
  "out_channels": 4,
  "sample_size": 64,
  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
}`

// sd21Config is stabilityai/stable-diffusion-2-1's unet/config.json
// (2-1-base differs in sample_size 64 and upcast_attention false).
const sd21Config = `{
  "_class_name": "UNet2DConditionModel",
  "_diffusers_version": "0.10.0.dev0",
  "act_fn": "silu",
  "attention_head_dim": [5, 10, 20, 20],
  "block_out_channels": [320, 640, 1280, 1280],
  "center_input_sample": false,
  "cross_attention_dim": 1024,
  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  "downsample_padding": 1,
  "dual_cross_attention": false,
  "flip_sin_to_cos": true,
  "freq_shift": 0,
  "in_channels": 4,
  "layers_per_block": 2,
  "mid_block_scale_factor": 1,
  "norm_eps": 1e-05,
  "norm_num_groups": 32,
  "num_class_embeds": null,
  "only_cross_attention": false,
  "out_channels": 4,
  "sample_size": 96,
  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
  "upcast_attention": true,
  "use_linear_projection": true
}`

// sdxlStructure is the block structure of stabilityai/stable-diffusion-xl-base-1.0
// (the largest U-Net diffusers ships for SD-style pipelines), without its
// addition_embed_type, which roentgen does not support.
const sdxlStructure = `{
  "attention_head_dim": [5, 10, 20],
  "block_out_channels": [320, 640, 1280],
  "cross_attention_dim": 2048,
  "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
  "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
  "layers_per_block": 2,
  "sample_size": 128,
  "transformer_layers_per_block": [1, 2, 10],
  "use_linear_projection": true
}`

// TestParseConfigRealModels checks that the configs of real models stay
// well inside the bounds and resolve to their known structure.
func TestParseConfigRealModels(t *testing.T) {
	read := func(fixture string) string {
		b, err := os.ReadFile(golden.Path(t, fixture, "unet", "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, json                  string
		sample, blocks, transformer int
		cross, lastHeads            int
	}{
		{"SD 1.5", sd15Config, 64, 4, 16, 768, 8},
		{"SD 2.1", sd21Config, 96, 4, 16, 1024, 5},
		{"SD 2.1-base", strings.Replace(sd21Config, `"sample_size": 96`, `"sample_size": 64`, 1), 64, 4, 16, 1024, 5},
		{"SDXL structure", sdxlStructure, 128, 3, 70, 2048, 5},
		{"tiny-sd1", read("tiny-sd1"), 8, 4, 16, 32, 8},
		{"tiny-sd2", read("tiny-sd2"), 8, 4, 16, 24, 2},
	} {
		c, a, err := ParseConfig("config.json", []byte(tc.json))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.SampleSize != config.Square(tc.sample) || len(a.Down) != tc.blocks || a.transformerLayers() != tc.transformer ||
			a.CrossDim != tc.cross || a.Up[len(a.Up)-1].Heads != tc.lastHeads {
			t.Errorf("%s: sample_size %d, %d blocks, %d transformer layers, cross %d, last up block %d heads; want %d, %d, %d, %d, %d",
				tc.name, c.SampleSize, len(a.Down), a.transformerLayers(), a.CrossDim, a.Up[len(a.Up)-1].Heads,
				tc.sample, tc.blocks, tc.transformer, tc.cross, tc.lastHeads)
		}
	}
}

// TestParseConfigBounds checks that values sizing the network far beyond
// any real model are refused at parse time, with one line naming the file
// and the field, before New would declare (and the weights check report)
// millions of tensors, and that sample_size cannot overflow the default
// image size.
func TestParseConfigBounds(t *testing.T) {
	const file = "unet/config.json"
	for _, tc := range []struct {
		kv   map[string]any
		want string
	}{
		{map[string]any{"layers_per_block": 1000000000},
			"layers_per_block[0] = 1000000000 is above 100, far beyond any real model"},
		{map[string]any{"layers_per_block": []int{2, 2, 100000, 2}},
			"layers_per_block[2] = 100000 is above 100, far beyond any real model"},
		{map[string]any{"layers_per_block": 0},
			"layers_per_block[0] = 0 must be at least 1"},
		{map[string]any{"transformer_layers_per_block": 101},
			"transformer_layers_per_block[0] = 101 is above 100, far beyond any real model"},
		{map[string]any{"reverse_transformer_layers_per_block": []int{1, 1, 1000, 1}},
			"reverse_transformer_layers_per_block[2] = 1000 is above 100, far beyond any real model"},
		{map[string]any{"layers_per_block": 100, "transformer_layers_per_block": 100},
			"layers_per_block and transformer_layers_per_block give 60400 transformer layers, more than 2000, far beyond any real model (SDXL has 70)"},
		{map[string]any{"block_out_channels": make([]int, 17), "down_block_types": make([]string, 17), "up_block_types": make([]string, 17)},
			"block_out_channels has 17 entries, more than 16 blocks, far beyond any real model"},
		{map[string]any{"block_out_channels": []int{320, 640, 1 << 40, 1280}},
			"block_out_channels[2] = 1099511627776 is above 65536, far beyond any real model"},
		{map[string]any{"in_channels": 1 << 20},
			"in_channels = 1048576 is above 65536, far beyond any real model"},
		{map[string]any{"out_channels": 1 << 20},
			"out_channels = 1048576 is above 65536, far beyond any real model"},
		{map[string]any{"norm_num_groups": 1 << 20},
			"norm_num_groups = 1048576 is above 65536, far beyond any real model"},
		{map[string]any{"cross_attention_dim": 1000000000},
			"cross_attention_dim = 1000000000 is above 65536, far beyond any real model"},
		{map[string]any{"time_embedding_dim": 1 << 30},
			"time_embedding_dim = 1073741824 is above 262144, far beyond any real model"},
		{map[string]any{"conv_in_kernel": -1},
			"conv_in_kernel = -1 must be at least 1"},
		{map[string]any{"conv_out_kernel": 1<<31 + 1},
			"conv_out_kernel = 2147483649 is above 31, far beyond any real model"},
		{map[string]any{"sample_size": 1<<62 + 1},
			"sample_size = 4611686018427387905 is above 2048: the default image side, sample_size x 8 pixels with Stable Diffusion's VAE, must be within roentgen's 16384"},
		{map[string]any{"sample_size": 1 << 61},
			"sample_size = 2305843009213693952 is above 2048: the default image side, sample_size x 8 pixels with Stable Diffusion's VAE, must be within roentgen's 16384"},
		{map[string]any{"sample_size": 1<<63 - 1},
			"sample_size = 9223372036854775807 is above 2048: the default image side, sample_size x 8 pixels with Stable Diffusion's VAE, must be within roentgen's 16384"},
		{map[string]any{"sample_size": 1000000000000},
			"sample_size = 1000000000000 is above 2048: the default image side, sample_size x 8 pixels with Stable Diffusion's VAE, must be within roentgen's 16384"},
		{map[string]any{"sample_size": 2049},
			"sample_size = 2049 is above 2048: the default image side, sample_size x 8 pixels with Stable Diffusion's VAE, must be within roentgen's 16384"},
	} {
		_, _, err := ParseConfig(file, golden.WithKeys(t, sd15Config, tc.kv))
		if want := file + ": " + tc.want; err == nil || err.Error() != want {
			t.Errorf("%v:\n got %v\nwant %s", tc.kv, err, want)
		}
	}
	// The bounds themselves are accepted.
	for _, kv := range []map[string]any{
		{"sample_size": 2048},
		{"layers_per_block": 100, "down_block_types": []string{"DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D"},
			"up_block_types": []string{"UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"}},
		{"transformer_layers_per_block": 100, "layers_per_block": 1},
		{"block_out_channels": []int{65536, 65536, 65536, 65536}, "cross_attention_dim": 65536, "time_embedding_dim": 262144},
		{"conv_in_kernel": 31, "conv_out_kernel": 1},
	} {
		if _, _, err := ParseConfig(file, golden.WithKeys(t, sd15Config, kv)); err != nil {
			t.Errorf("%v: %v", kv, err)
		}
	}
}
