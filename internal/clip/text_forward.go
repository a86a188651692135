package clip

import (
	"fmt"
	"strconv"

	"github.com/roentgen-dev/roentgen/internal/graph"
	"github.com/roentgen-dev/roentgen/internal/graph/ops"
	"github.com/roentgen-dev/roentgen/internal/nn"
)

// Forward maps token ids [B, L] (as float32) to last_hidden_state
// [B, L, Hidden]: embeddings, pre-LN layers with causal self-attention and
// no padding mask (as the SD pipeline calls it), then final_layer_norm.
func (t *TextEncoder) Forward(b *graph.Builder, ids *graph.Tensor) *graph.Tensor {
	h := b.Apply(ops.Embed{Table: nn.Matrix(t.TokenEmbedding.Weight), Pos: t.PositionEmbedding.Weight.F32(), Dim: t.Arch.Hidden}, ids)
	act := ops.QuickGELU
	if t.Arch.Act == GELU {
		act = ops.GELU
	}
	for i, l := range t.Layers {
		b.Scope("text_model.encoder.layers."+strconv.Itoa(i), func() {
			n := l.LayerNorm1.Forward(b, h)
			h = l.SelfAttn.Forward(b, n, n, h, true)
			n = l.LayerNorm2.Forward(b, h)
			m := l.FC1.ForwardAct(b, n, act) // [B, L, MLP]
			h = l.FC2.ForwardAdd(b, m, h)
		})
	}
	return t.FinalLayerNorm.Forward(b, h)
}

// TextRunner compiles the encoder once per (batch, length).
type TextRunner struct {
	graph.Cache
	t     *TextEncoder
	shape [2]int
	ids   []float32
}

// NewTextRunner returns a runner for t.
func NewTextRunner(t *TextEncoder) *TextRunner { return &TextRunner{t: t} }

// Encode returns last_hidden_state [len(ids), L, Hidden] for prompts of
// equal length L (the caller's own copy).
func (r *TextRunner) Encode(ids [][]int) ([]float32, error) {
	a := r.t.Arch
	if len(ids) == 0 || len(ids[0]) == 0 || len(ids[0]) > a.MaxPos {
		return nil, fmt.Errorf("text encoder: need 1 to %d token ids per prompt", a.MaxPos)
	}
	s := [2]int{len(ids), len(ids[0])}
	if r.Program() == nil || r.shape != s {
		p, err := graph.Compile(graph.NewBuilder(), func(b *graph.Builder) ([]*graph.Tensor, []*graph.Tensor) {
			in := b.Input("input_ids", s[0], s[1])
			return []*graph.Tensor{in}, []*graph.Tensor{r.t.Forward(b, in)}
		})
		if err != nil {
			return nil, fmt.Errorf("text encoder: %w", err)
		}
		r.Replace(p)
		r.shape, r.ids = s, make([]float32, s[0]*s[1])
	}
	for i, row := range ids {
		if len(row) != s[1] {
			return nil, fmt.Errorf("text encoder: prompt %d has %d ids, prompt 0 has %d", i, len(row), s[1])
		}
		for j, id := range row {
			if id < 0 || id >= a.Vocab {
				return nil, fmt.Errorf("text encoder: token id %d outside the vocabulary of %d", id, a.Vocab)
			}
			r.ids[i*s[1]+j] = float32(id)
		}
	}
	out, err := r.Program().Run(r.ids)
	if err != nil {
		return nil, fmt.Errorf("text encoder: %w", err)
	}
	return out[0], nil
}
