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
	case c.ModelType != "" && c.ModelType != "clip_text_model":
		return c, a, fmt.Errorf("%s: model_type %q is not a CLIP text model (clip_text_model)", file, c.ModelType)
	case c.VocabSize <= 0 || c.HiddenSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers <= 0 || c.MaxPositionEmbeddings <= 0:
		return c, a, fmt.Errorf("%s: vocab_size, hidden_size, intermediate_size, num_hidden_layers and max_position_embeddings must be positive", file)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return c, a, fmt.Errorf("%s: hidden_size %d is not divisible by num_attention_heads %d", file, c.HiddenSize, c.NumAttentionHeads)
	}
	a.HeadDim = c.HiddenSize / c.NumAttentionHeads
	return c, a, nil
}
