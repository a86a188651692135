package clip

import (
	"os"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
)

// sd15TextConfig is runwayml/stable-diffusion-v1-5's text_encoder/config.json.
const sd15TextConfig = `{
  "architectures": ["CLIPTextModel"],
  "attention_dropout": 0.0,
  "bos_token_id": 0,
  "eos_token_id": 2,
  "hidden_act": "quick_gelu",
  "hidden_size": 768,
  "initializer_factor": 1.0,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "layer_norm_eps": 1e-05,
  "max_position_embeddings": 77,
  "model_type": "clip_text_model",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 1,
  "projection_dim": 768,
  "torch_dtype": "float32",
  "vocab_size": 49408
}`

// TestParseConfigRealModels checks that the text encoders of SD 1.5, SD 2.x
// and SDXL's larger second encoder, and the fixtures, load.
func TestParseConfigRealModels(t *testing.T) {
	fixture := func(name string) []byte {
		b, err := os.ReadFile(golden.Path(t, name, "text_encoder", "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name                       string
		data                       []byte
		hidden, layers, headDim, v int
	}{
		{"SD 1.5", []byte(sd15TextConfig), 768, 12, 64, 49408},
		{"SD 2.1", golden.WithKeys(t, sd15TextConfig, map[string]any{"hidden_act": "gelu", "hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16, "num_hidden_layers": 23}), 1024, 23, 64, 49408},
		{"SDXL text_encoder_2", golden.WithKeys(t, sd15TextConfig, map[string]any{"hidden_act": "gelu", "hidden_size": 1280, "intermediate_size": 5120, "num_attention_heads": 20, "num_hidden_layers": 32}), 1280, 32, 64, 49408},
		{"tiny-sd1", fixture("tiny-sd1"), 32, 4, 8, 49408},
	} {
		_, a, err := ParseConfig("config.json", tc.data)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if a.Hidden != tc.hidden || a.Layers != tc.layers || a.HeadDim != tc.headDim || a.Vocab != tc.v || a.MaxPos != 77 {
			t.Errorf("%s: %+v", tc.name, a)
		}
	}
	if _, _, err := ParseConfig("config.json", fixture("tiny-sd2")); err != nil {
		t.Errorf("tiny-sd2: %v", err)
	}
}

// TestParseConfigBounds checks that sizes far beyond any real model are
// refused with one line naming the file and field.
func TestParseConfigBounds(t *testing.T) {
	const file = "text_encoder/config.json"
	for _, tc := range []struct {
		kv   map[string]any
		want string
	}{
		{map[string]any{"num_hidden_layers": 1000000000}, "num_hidden_layers = 1000000000 is above 1000, far beyond any real model"},
		{map[string]any{"vocab_size": 1000000000000}, "vocab_size = 1000000000000 is above 1048576, far beyond any real model"},
		{map[string]any{"hidden_size": 1 << 40, "num_attention_heads": 1}, "hidden_size = 1099511627776 is above 65536, far beyond any real model"},
		{map[string]any{"intermediate_size": 1 << 30}, "intermediate_size = 1073741824 is above 262144, far beyond any real model"},
		{map[string]any{"num_attention_heads": 1 << 20}, "num_attention_heads = 1048576 is above 65536, far beyond any real model"},
		{map[string]any{"max_position_embeddings": 1000000000}, "max_position_embeddings = 1000000000 is above 65536, far beyond any real model"},
	} {
		_, _, err := ParseConfig(file, golden.WithKeys(t, sd15TextConfig, tc.kv))
		if want := file + ": " + tc.want; err == nil || err.Error() != want {
			t.Errorf("%v:\n got %v\nwant %s", tc.kv, err, want)
		}
	}
	if _, _, err := ParseConfig(file, golden.WithKeys(t, sd15TextConfig, map[string]any{"num_hidden_layers": 1000, "vocab_size": 1 << 20,
		"hidden_size": 1 << 16, "num_attention_heads": 1 << 16, "intermediate_size": 1 << 18, "max_position_embeddings": 1 << 16})); err != nil {
		t.Errorf("the bounds: %v", err)
	}
}

// TestParseConfigAttentionMask: use_attention_mask false (or absent) loads;
// true, with which diffusers masks the padding tokens, is refused.
func TestParseConfigAttentionMask(t *testing.T) {
	const file = "text_encoder/config.json"
	if _, _, err := ParseConfig(file, golden.WithKeys(t, sd15TextConfig, map[string]any{"use_attention_mask": false})); err != nil {
		t.Errorf("false: %v", err)
	}
	if _, _, err := ParseConfig(file, golden.WithKeys(t, sd15TextConfig, map[string]any{"use_attention_mask": true})); err == nil ||
		!strings.Contains(err.Error(), file+": use_attention_mask true is not supported") {
		t.Errorf("true: %v", err)
	}
}
