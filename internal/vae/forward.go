package vae

import (
	"strconv"

	"github.com/roentgen-dev/roentgen/internal/graph"
	"github.com/roentgen-dev/roentgen/internal/graph/ops"
)

// Forward decodes z [B, Latent, h, w] (already divided by the scaling
// factor) into images [B, Out, h·s, w·s] in about [-1, 1].
func (d *Decoder) Forward(b *graph.Builder, z *graph.Tensor) *graph.Tensor {
	if d.PostQuantConv != nil {
		z = d.PostQuantConv.Forward(b, z, nil)
	}
	h := d.ConvIn.Forward(b, z, nil)
	b.Scope("decoder.mid_block", func() {
		h = d.Mid.Resnets[0].Forward(b, h, nil)
		if d.Mid.Attention != nil {
			h = d.Mid.attention(b, h)
		}
		h = d.Mid.Resnets[1].Forward(b, h, nil)
	})
	for i, u := range d.UpBlocks {
		b.Scope("decoder.up_blocks."+strconv.Itoa(i), func() {
			for _, r := range u.Resnets {
				h = r.Forward(b, h, nil)
			}
			if u.Upsampler != nil {
				h = u.Upsampler.Forward(b, h, 2*h.Shape[2], 2*h.Shape[3])
			}
		})
	}
	h = d.ConvNormOut.Forward(b, h, true)
	return d.ConvOut.Forward(b, h, nil)
}

// attention is the single-head spatial self-attention of the mid block,
// with its own GroupNorm and a residual connection.
func (m *MidBlock) attention(b *graph.Builder, x *graph.Tensor) *graph.Tensor {
	hgt, wid := x.Shape[2], x.Shape[3]
	n := m.AttnNorm.Forward(b, x, false)
	n = b.Apply(ops.ToTokens{}, n) // [B, H*W, C]
	a := m.Attention.Forward(b, n, n, nil, false)
	a = b.Apply(ops.FromTokens{H: hgt, W: wid}, a) // [B, C, H, W]
	return b.Apply(ops.Add{}, a, x)
}
