package unet

import (
	"strconv"

	"github.com/roentgen-dev/roentgen/internal/graph"
	"github.com/roentgen-dev/roentgen/internal/graph/ops"
)

// Forward predicts the model output for sample [B, In, H, W], the timestep
// embedding temb [B, C0] (the sinusoid, see TimestepEmbedding) and the text
// states ctx [B, L, CrossDim].
func (m *Model) Forward(b *graph.Builder, sample, temb, ctx *graph.Tensor) *graph.Tensor {
	silu := ops.Unary{Act: ops.SiLU}
	var t *graph.Tensor
	b.Scope("time_embedding", func() {
		t = m.TimeLinear1.ForwardAct(b, temb, ops.SiLU)
		t = m.TimeLinear2.Forward(b, t) // [B, TimeDim]
		t = b.Apply(silu, t)            // every resnet applies SiLU first; do it once
	})
	h := m.ConvIn.Forward(b, sample, nil)
	skips := []*graph.Tensor{h}
	for i, d := range m.DownBlocks {
		b.Scope(scope("down_blocks", i), func() {
			for j, r := range d.Resnets {
				h = r.Forward(b, h, t)
				if d.Attentions != nil {
					h = d.Attentions[j].Forward(b, h, ctx)
				}
				skips = append(skips, h)
			}
			if d.Downsampler != nil {
				h = d.Downsampler.Forward(b, h)
				skips = append(skips, h)
			}
		})
	}
	b.Scope("mid_block", func() {
		h = m.MidBlock.Resnets[0].Forward(b, h, t)
		for j, a := range m.MidBlock.Attentions {
			h = a.Forward(b, h, ctx)
			h = m.MidBlock.Resnets[j+1].Forward(b, h, t)
		}
	})
	for i, u := range m.UpBlocks {
		b.Scope(scope("up_blocks", i), func() {
			for j, r := range u.Resnets {
				skip := skips[len(skips)-1]
				skips = skips[:len(skips)-1]
				h = b.Apply(ops.Concat{}, h, skip) // [B, C + Cskip, H, W]
				h = r.Forward(b, h, t)
				if u.Attentions != nil {
					h = u.Attentions[j].Forward(b, h, ctx)
				}
			}
			if u.Upsampler != nil {
				// Upsample to the next skip's size: x2, or the exact size
				// when a side was odd on the way down (as diffusers does).
				next := skips[len(skips)-1].Shape
				h = u.Upsampler.Forward(b, h, next[2], next[3])
			}
		})
	}
	h = m.ConvNormOut.Forward(b, h, true)
	return m.ConvOut.Forward(b, h, nil)
}

// Forward runs the transformer on x [B, C, H, W] attending to ctx.
func (t *Transformer2D) Forward(b *graph.Builder, x, ctx *graph.Tensor) *graph.Tensor {
	h := t.Norm.Forward(b, x, false)
	// A 1x1 convolution before flattening equals a linear layer after it;
	// both projections read or write the image layout directly.
	h = t.ProjIn.FromChannels(b, h) // [B, H*W, inner]
	for k, blk := range t.TransformerBlocks {
		b.Scope(scope("transformer_blocks", k), func() { h = blk.Forward(b, h, ctx) })
	}
	return t.ProjOut.ToChannels(b, h, x) // [B, C, H, W], plus x
}

// Forward is self-attention, cross-attention and GEGLU feed-forward, each
// after a LayerNorm and with a residual.
func (blk *BasicTransformerBlock) Forward(b *graph.Builder, h, ctx *graph.Tensor) *graph.Tensor {
	n := blk.Norm1.Forward(b, h)
	self := n
	if blk.OnlyCrossAttn {
		self = ctx
	}
	h = blk.Attn1.Forward(b, n, self, h, false)
	n = blk.Norm2.Forward(b, h)
	h = blk.Attn2.Forward(b, n, ctx, h, false)
	n = blk.Norm3.Forward(b, h)
	f := blk.FF.Proj.Forward(b, n) // [B, L, 8C]
	f = b.Apply(ops.GEGLU{}, f)    // [B, L, 4C]
	return blk.FF.Out.ForwardAdd(b, f, h)
}

func scope(name string, i int) string { return name + "." + strconv.Itoa(i) }
