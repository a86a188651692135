package clip

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/nn"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// TextEncoder is transformers' CLIPTextModel; its last_hidden_state is the
// Stable Diffusion conditioning.
type TextEncoder struct {
	Arch              Arch
	TokenEmbedding    *nn.Embedding
	PositionEmbedding *nn.Embedding
	Layers            []*EncoderLayer
	FinalLayerNorm    *nn.LayerNorm
}

// EncoderLayer is a pre-LN transformer layer with causal self-attention.
type EncoderLayer struct {
	LayerNorm1, LayerNorm2 *nn.LayerNorm
	SelfAttn               *nn.Attention // q_proj, k_proj, v_proj, out_proj
	FC1, FC2               *nn.Linear
}

// ignoredTensors are buffers that transformers exports store but that are
// not parameters.
var ignoredTensors = []string{"text_model.embeddings.position_ids"}

// NewTextEncoder declares the encoder's weights and checks the set against them.
func NewTextEncoder(set *weights.Set, a Arch) (*TextEncoder, error) {
	s := set.Root().Sub("text_model")
	emb := s.Sub("embeddings")
	t := &TextEncoder{
		Arch:              a,
		TokenEmbedding:    nn.NewEmbedding(emb.Sub("token_embedding"), a.Vocab, a.Hidden),
		PositionEmbedding: nn.NewEmbedding(emb.Sub("position_embedding"), a.MaxPos, a.Hidden),
		FinalLayerNorm:    nn.NewLayerNorm(s.Sub("final_layer_norm"), a.Hidden, a.Eps),
	}
	for i := range a.Layers {
		ls := s.Sub("encoder").Sub("layers").Index(i)
		t.Layers = append(t.Layers, &EncoderLayer{
			LayerNorm1: nn.NewLayerNorm(ls.Sub("layer_norm1"), a.Hidden, a.Eps),
			SelfAttn: nn.NewAttentionNamed(ls.Sub("self_attn"), nn.AttentionOptions{
				QueryDim: a.Hidden, ContextDim: a.Hidden, Heads: a.Heads, HeadDim: a.HeadDim, QKVBias: true,
			}, [4]string{"q_proj", "k_proj", "v_proj", "out_proj"}),
			LayerNorm2: nn.NewLayerNorm(ls.Sub("layer_norm2"), a.Hidden, a.Eps),
			FC1:        nn.NewLinear(ls.Sub("mlp").Sub("fc1"), a.Hidden, a.MLP, true),
			FC2:        nn.NewLinear(ls.Sub("mlp").Sub("fc2"), a.MLP, a.Hidden, true),
		})
	}
	if err := set.Check(ignoredTensors...); err != nil {
		return nil, fmt.Errorf("text encoder weights do not match the config: %w", err)
	}
	return t, nil
}
