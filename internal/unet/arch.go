package unet

import (
	"fmt"
	"slices"
)

// unsupported lists config values that change the network in ways roentgen
// does not implement, so that such a model fails at load, not with wrong
// pictures.
func (c Config) unsupported() error {
	switch {
	case c.ClassEmbedType != nil || c.NumClassEmbeds != nil:
		return fmt.Errorf("class embeddings (class_embed_type/num_class_embeds) are not supported")
	case c.AdditionEmbedType != nil:
		return fmt.Errorf("addition_embed_type %q is not supported (SDXL-style conditioning)", *c.AdditionEmbedType)
	case c.EncoderHidDim != nil:
		return fmt.Errorf("encoder_hid_dim is not supported")
	case c.DualCrossAttention:
		return fmt.Errorf("dual_cross_attention is not supported")
	case c.CrossAttentionNorm != nil:
		return fmt.Errorf("cross_attention_norm %q is not supported", *c.CrossAttentionNorm)
	case c.AttentionType != "default":
		return fmt.Errorf("attention_type %q is not supported", c.AttentionType)
	case c.ResnetTimeScaleShift != "default":
		return fmt.Errorf("resnet_time_scale_shift %q is not supported", c.ResnetTimeScaleShift)
	case c.ResnetSkipTimeAct:
		return fmt.Errorf("resnet_skip_time_act is not supported")
	case c.ResnetOutScaleFactor != 1:
		return fmt.Errorf("resnet_out_scale_factor %g is not supported", c.ResnetOutScaleFactor)
	case c.TimeEmbeddingType != "positional":
		return fmt.Errorf("time_embedding_type %q is not supported", c.TimeEmbeddingType)
	case c.TimeEmbeddingActFn != nil || c.TimestepPostAct != nil || c.TimeCondProjDim != nil:
		return fmt.Errorf("time_embedding_act_fn, timestep_post_act and time_cond_proj_dim are not supported")
	case c.ActFn != "silu":
		return fmt.Errorf("act_fn %q is not supported (only silu)", c.ActFn)
	case c.NumAttentionHeads.Set:
		// diffusers 0.25 itself rejects it: attention_head_dim holds the head count.
		return fmt.Errorf("num_attention_heads must be null; diffusers reads the head count from attention_head_dim")
	case c.MidBlockType != nil && *c.MidBlockType != "UNetMidBlock2DCrossAttn":
		return fmt.Errorf("mid_block_type %q is not supported", *c.MidBlockType)
	case c.MidBlockType == nil:
		return fmt.Errorf("a U-Net without a mid block (mid_block_type null) is not supported")
	case c.DownsamplePadding != 1:
		// diffusers pads right and bottom only for padding 0; SD uses 1.
		return fmt.Errorf("downsample_padding %d is not supported (only 1)", c.DownsamplePadding)
	case c.ConvInKernel%2 == 0 || c.ConvOutKernel%2 == 0:
		return fmt.Errorf("conv_in_kernel and conv_out_kernel must be odd")
	}
	return nil
}

// Bounds on the config values that size the network, far above any model
// diffusers ships (SD 1.x/2.x: 4 blocks of at most 1280 channels, 2 resnets
// per down block, 1 transformer layer, sample_size 64 or 96; SDXL: 3 blocks,
// up to 10 transformer layers, 70 in all). New declares every tensor the
// config describes before the weights are checked, so without them a hostile
// config makes it run for hours and fill memory, or overflows shapes.
const (
	maxBlocks            = 16      // entries of block_out_channels
	maxChannels          = 1 << 16 // in/out channels, block_out_channels, cross_attention_dim, norm_num_groups
	maxTimeDim           = 1 << 18 // time_embedding_dim (by default 4 x block_out_channels[0])
	maxLayersPerBlock    = 100     // layers_per_block
	maxTransformerDepth  = 100     // transformer_layers_per_block, reverse_transformer_layers_per_block
	maxTransformerLayers = 2000    // the model's transformer layers in all
	maxKernel            = 31      // conv_in_kernel, conv_out_kernel
	// maxSampleSize keeps the default image, sample_size latent cells of 8
	// pixels (the VAE's scale factor), within roentgen's 16384 pixels a side.
	maxSampleSize = 16384 / 8
)

// checkCount returns an error when field (a single value or entry i of a
// per-block list) is outside 1..limit.
func checkCount(field string, i int, list bool, v, limit int) error {
	if list {
		field = fmt.Sprintf("%s[%d]", field, i)
	}
	switch {
	case v < 1:
		return fmt.Errorf("%s = %d must be at least 1", field, v)
	case v > limit:
		return fmt.Errorf("%s = %d is above %d, far beyond any real model", field, v, limit)
	}
	return nil
}

func (c Config) arch() (Arch, error) {
	if err := c.unsupported(); err != nil {
		return Arch{}, err
	}
	n := len(c.BlockOutChannels)
	switch {
	case n == 0:
		return Arch{}, fmt.Errorf("block_out_channels is empty")
	case n > maxBlocks:
		return Arch{}, fmt.Errorf("block_out_channels has %d entries, more than %d blocks, far beyond any real model", n, maxBlocks)
	case len(c.DownBlockTypes) != n || len(c.UpBlockTypes) != n:
		return Arch{}, fmt.Errorf("down_block_types (%d), up_block_types (%d) and block_out_channels (%d) must have the same length", len(c.DownBlockTypes), len(c.UpBlockTypes), n)
	case c.InChannels <= 0 || c.OutChannels <= 0:
		return Arch{}, fmt.Errorf("in_channels and out_channels must be positive")
	case c.NormNumGroups <= 0:
		return Arch{}, fmt.Errorf("norm_num_groups must be positive")
	}
	for _, f := range []struct {
		name     string
		v, limit int
	}{
		{"in_channels", c.InChannels, maxChannels},
		{"out_channels", c.OutChannels, maxChannels},
		{"norm_num_groups", c.NormNumGroups, maxChannels},
		{"conv_in_kernel", c.ConvInKernel, maxKernel},
		{"conv_out_kernel", c.ConvOutKernel, maxKernel},
	} {
		if err := checkCount(f.name, 0, false, f.v, f.limit); err != nil {
			return Arch{}, err
		}
	}
	for i, ch := range c.BlockOutChannels {
		if ch > maxChannels {
			return Arch{}, fmt.Errorf("block_out_channels[%d] = %d is above %d, far beyond any real model", i, ch, maxChannels)
		}
		if ch <= 0 || ch%c.NormNumGroups != 0 {
			return Arch{}, fmt.Errorf("block_out_channels[%d] = %d is not a positive multiple of norm_num_groups %d", i, ch, c.NormNumGroups)
		}
	}
	heads, err := c.AttentionHeadDim.PerBlock(n, "attention_head_dim")
	if err != nil {
		return Arch{}, err
	}
	layers, err := c.LayersPerBlock.PerBlock(n, "layers_per_block")
	if err != nil {
		return Arch{}, err
	}
	depth, err := c.TransformerLayersPerBlock.PerBlock(n, "transformer_layers_per_block")
	if err != nil {
		return Arch{}, err
	}
	cross, err := c.CrossAttentionDim.PerBlock(1, "cross_attention_dim")
	if err != nil {
		return Arch{}, fmt.Errorf("cross_attention_dim must be one integer (per-block values are not supported)")
	}
	only, err := c.OnlyCrossAttention.PerBlock(n, "only_cross_attention")
	if err != nil {
		return Arch{}, err
	}
	for i := range n {
		if heads[i] <= 0 || heads[i] > c.BlockOutChannels[i] {
			return Arch{}, fmt.Errorf("attention_head_dim[%d] = %d heads must be between 1 and the block's %d channels", i, heads[i], c.BlockOutChannels[i])
		}
		if err := checkCount("layers_per_block", i, true, layers[i], maxLayersPerBlock); err != nil {
			return Arch{}, err
		}
		if err := checkCount("transformer_layers_per_block", i, true, depth[i], maxTransformerDepth); err != nil {
			return Arch{}, err
		}
	}
	switch {
	case cross[0] <= 0:
		return Arch{}, fmt.Errorf("cross_attention_dim must be positive")
	case cross[0] > maxChannels:
		return Arch{}, fmt.Errorf("cross_attention_dim = %d is above %d, far beyond any real model", cross[0], maxChannels)
	case c.SampleSize.H <= 0 || c.SampleSize.W <= 0:
		return Arch{}, fmt.Errorf("sample_size must be positive")
	case max(c.SampleSize.H, c.SampleSize.W) > maxSampleSize:
		return Arch{}, fmt.Errorf("sample_size = %v is above %d: the default image side, sample_size x 8 pixels with Stable Diffusion's VAE, must be within roentgen's %d", c.SampleSize, maxSampleSize, maxSampleSize*8)
	case c.NormEps <= 0:
		return Arch{}, fmt.Errorf("norm_eps must be positive")
	case c.TimeEmbeddingDim != nil && *c.TimeEmbeddingDim <= 0:
		return Arch{}, fmt.Errorf("time_embedding_dim must be positive")
	case c.TimeEmbeddingDim != nil && *c.TimeEmbeddingDim > maxTimeDim:
		return Arch{}, fmt.Errorf("time_embedding_dim = %d is above %d, far beyond any real model", *c.TimeEmbeddingDim, maxTimeDim)
	}
	a := Arch{
		In: c.InChannels, Out: c.OutChannels, C0: c.BlockOutChannels[0], TimeDim: 4 * c.BlockOutChannels[0],
		CrossDim: cross[0], Groups: c.NormNumGroups, Eps: float32(c.NormEps),
		FlipSinToCos: c.FlipSinToCos, CenterInput: c.CenterInputSample, FreqShift: c.FreqShift,
		LinearProj: c.UseLinearProjection, DownPadding: c.DownsamplePadding,
		ConvIn: c.ConvInKernel, ConvOut: c.ConvOutKernel, MidScale: float32(c.MidBlockScaleFactor),
	}
	if c.TimeEmbeddingDim != nil {
		a.TimeDim = *c.TimeEmbeddingDim
	}
	out := c.BlockOutChannels[0]
	for i, t := range c.DownBlockTypes {
		b := Block{In: out, Out: c.BlockOutChannels[i], Layers: layers[i], Resample: i < n-1}
		switch t {
		case "CrossAttnDownBlock2D":
			b.CrossAttn = true
		case "DownBlock2D":
		default:
			return Arch{}, fmt.Errorf("down_block_types[%d]: block type %q is not supported", i, t)
		}
		b.Heads, b.HeadDim, b.TransformerDepth, b.OnlyCrossAttn = heads[i], b.Out/heads[i], depth[i], only[i]
		out = b.Out
		a.Down = append(a.Down, b)
	}
	last := c.BlockOutChannels[n-1]
	a.Mid = Block{CrossAttn: true, In: last, Out: last, Layers: 1, Heads: heads[n-1], HeadDim: last / heads[n-1], TransformerDepth: depth[n-1]}
	if c.MidBlockOnlyCrossAttn != nil {
		a.Mid.OnlyCrossAttn = *c.MidBlockOnlyCrossAttn
	} else {
		a.Mid.OnlyCrossAttn = only[n-1]
	}
	rev := slices.Clone(c.BlockOutChannels)
	slices.Reverse(rev)
	rheads, rlayers, ronly := slices.Clone(heads), slices.Clone(layers), slices.Clone(only)
	slices.Reverse(rheads)
	slices.Reverse(rlayers)
	slices.Reverse(ronly)
	rdepth := slices.Clone(depth)
	slices.Reverse(rdepth)
	if c.ReverseTransformerLayers.Set {
		if rdepth, err = c.ReverseTransformerLayers.PerBlock(n, "reverse_transformer_layers_per_block"); err != nil {
			return Arch{}, err
		}
		for i, d := range rdepth {
			if err := checkCount("reverse_transformer_layers_per_block", i, true, d, maxTransformerDepth); err != nil {
				return Arch{}, err
			}
		}
	}
	prev := rev[0]
	for i, t := range c.UpBlockTypes {
		b := Block{Prev: prev, Out: rev[i], In: rev[min(i+1, n-1)], Layers: rlayers[i] + 1, Resample: i < n-1}
		switch t {
		case "CrossAttnUpBlock2D":
			b.CrossAttn = true
		case "UpBlock2D":
		default:
			return Arch{}, fmt.Errorf("up_block_types[%d]: block type %q is not supported", i, t)
		}
		b.Heads, b.HeadDim, b.TransformerDepth, b.OnlyCrossAttn = rheads[i], b.Out/rheads[i], rdepth[i], ronly[i]
		prev = b.Out
		a.Up = append(a.Up, b)
	}
	if t := a.transformerLayers(); t > maxTransformerLayers {
		return Arch{}, fmt.Errorf("layers_per_block and transformer_layers_per_block give %d transformer layers, more than %d, far beyond any real model (SDXL has 70)", t, maxTransformerLayers)
	}
	return a, nil
}

// transformerLayers counts the BasicTransformerBlocks of the model: one
// Transformer2D of TransformerDepth layers per resnet of a cross-attention
// block (one in the mid block).
func (a Arch) transformerLayers() int {
	t := a.Mid.Layers * a.Mid.TransformerDepth
	for _, b := range append(slices.Clone(a.Down), a.Up...) {
		if b.CrossAttn {
			t += b.Layers * b.TransformerDepth
		}
	}
	return t
}
