package clip

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/config"
)

// Config is text_encoder/config.json (transformers CLIPTextConfig).
type Config struct {
	ModelType             string   `json:"model_type"`
	Architectures         []string `json:"architectures"`
	VocabSize             int      `json:"vocab_size"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	HiddenAct             string   `json:"hidden_act"`
	LayerNormEps          float64  `json:"layer_norm_eps"`
	UseAttentionMask      bool     `json:"use_attention_mask"` // diffusers then masks the padding tokens: refused
}

// Activation is the MLP nonlinearity of the encoder layers.
type Activation int

// The activations CLIP text encoders use.
const (
	QuickGELU Activation = iota // x·sigmoid(1.702x), OpenAI CLIP (SD 1.x)
	GELU                        // exact erf GELU, OpenCLIP (SD 2.x)
)

// Arch is the validated form of Config.
type Arch struct {
	Vocab, Hidden, MLP, Layers, Heads, HeadDim, MaxPos int
	Act                                                Activation
	Eps                                                float32
}

// Bounds on the config values that size the encoder, far above any CLIP
// text model (SD: vocabulary 49408, 768 to 1280 wide, 12 to 32 layers, 77
// positions), so that a hostile config fails here rather than making
// NewTextEncoder declare millions of tensors or shapes that overflow.
var bounds = []struct {
	field string
	limit int
	value func(Config) int
}{
	{"vocab_size", 1 << 20, func(c Config) int { return c.VocabSize }},
	{"hidden_size", 1 << 16, func(c Config) int { return c.HiddenSize }},
	{"intermediate_size", 1 << 18, func(c Config) int { return c.IntermediateSize }},
	{"num_hidden_layers", 1000, func(c Config) int { return c.NumHiddenLayers }},
	{"num_attention_heads", 1 << 16, func(c Config) int { return c.NumAttentionHeads }},
	{"max_position_embeddings", 1 << 16, func(c Config) int { return c.MaxPositionEmbeddings }},
}

// ParseConfig decodes and validates text_encoder/config.json. A nested
// CLIPConfig (with a text_config key) is not a text encoder and is rejected.
func ParseConfig(file string, data []byte) (Config, Arch, error) {
	c := Config{
		VocabSize: 49408, HiddenSize: 512, IntermediateSize: 2048, NumHiddenLayers: 12, NumAttentionHeads: 8,
		MaxPositionEmbeddings: 77, HiddenAct: "quick_gelu", LayerNormEps: 1e-5,
	}
	if err := config.Decode(file, data, &c); err != nil {
		return c, Arch{}, err
	}
	a := Arch{Vocab: c.VocabSize, Hidden: c.HiddenSize, MLP: c.IntermediateSize, Layers: c.NumHiddenLayers,
		Heads: c.NumAttentionHeads, MaxPos: c.MaxPositionEmbeddings, Eps: float32(c.LayerNormEps)}
	switch c.HiddenAct {
	case "quick_gelu":
		a.Act = QuickGELU
	case "gelu":
		a.Act = GELU
	default:
		return c, a, fmt.Errorf("%s: hidden_act %q is not supported (quick_gelu or gelu)", file, c.HiddenAct)
	}
	switch {
	case c.UseAttentionMask:
		return c, a, fmt.Errorf("%s: use_attention_mask true is not supported: diffusers would mask the padding tokens out of the text encoder's attention, roentgen runs it on all %d positions as Stable Diffusion's text encoders do", file, c.MaxPositionEmbeddings)
	case c.ModelType != "" && c.ModelType != "clip_text_model":
		return c, a, fmt.Errorf("%s: model_type %q is not a CLIP text model (clip_text_model)", file, c.ModelType)
	case c.VocabSize <= 0 || c.HiddenSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers <= 0 || c.MaxPositionEmbeddings <= 0:
		return c, a, fmt.Errorf("%s: vocab_size, hidden_size, intermediate_size, num_hidden_layers and max_position_embeddings must be positive", file)
	}
	for _, b := range bounds {
		if v := b.value(c); v > b.limit {
			return c, a, fmt.Errorf("%s: %s = %d is above %d, far beyond any real model", file, b.field, v, b.limit)
		}
	}
	if c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0 {
		return c, a, fmt.Errorf("%s: hidden_size %d is not divisible by num_attention_heads %d", file, c.HiddenSize, c.NumAttentionHeads)
	}
	a.HeadDim = c.HiddenSize / c.NumAttentionHeads
	return c, a, nil
}
