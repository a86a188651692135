// Package vae implements the decoder half of diffusers' AutoencoderKL, which turns latents into images.
package vae

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/config"
)

// Config is vae/config.json (AutoencoderKL, diffusers 0.25 defaults).
type Config struct {
	InChannels           int         `json:"in_channels"`
	OutChannels          int         `json:"out_channels"`
	UpBlockTypes         []string    `json:"up_block_types"`
	BlockOutChannels     []int       `json:"block_out_channels"`
	LayersPerBlock       int         `json:"layers_per_block"`
	ActFn                string      `json:"act_fn"`
	LatentChannels       int         `json:"latent_channels"`
	NormNumGroups        int         `json:"norm_num_groups"`
	SampleSize           config.Size `json:"sample_size"` // not read: the U-Net's sets the default size
	ScalingFactor        float64     `json:"scaling_factor"`
	ShiftFactor          *float64    `json:"shift_factor"`
	UsePostQuantConv     bool        `json:"use_post_quant_conv"`
	MidBlockAddAttention bool        `json:"mid_block_add_attention"`
}

// Arch is what the decoder is built from.
type Arch struct {
	Out, Latent, Groups, Layers int
	Channels                    []int // block_out_channels
	Scaling                     float32
	PostQuantConv, MidAttention bool
}

// ScaleFactor is the pixel size of one latent cell: 2^(len(block_out_channels)-1).
func (a Arch) ScaleFactor() int { return 1 << (len(a.Channels) - 1) }

// ParseConfig decodes and validates vae/config.json.
func ParseConfig(file string, data []byte) (Config, Arch, error) {
	c := Config{
		InChannels: 3, OutChannels: 3, UpBlockTypes: []string{"UpDecoderBlock2D"}, BlockOutChannels: []int{64},
		LayersPerBlock: 1, ActFn: "silu", LatentChannels: 4, NormNumGroups: 32, SampleSize: config.Square(32),
		ScalingFactor: 0.18215, UsePostQuantConv: true, MidBlockAddAttention: true,
	}
	if err := config.Decode(file, data, &c); err != nil {
		return c, Arch{}, err
	}
	a, err := c.arch()
	if err != nil {
		return c, a, fmt.Errorf("%s: %w", file, err)
	}
	return c, a, nil
}

// Bounds on the config values that size the decoder, far above any VAE
// diffusers ships (SD: 4 blocks of at most 512 channels, 2 layers per block,
// 4 latent channels), so that a hostile config fails here rather than
// making New declare millions of tensors or shapes that overflow.
const (
	// maxBlocks keeps the scale factor, 2^(blocks-1) pixels per latent
	// cell (8 for SD), within roentgen's 16384 pixels a side.
	maxBlocks         = 15
	maxChannels       = 1 << 16 // block_out_channels, latent_channels, out_channels, norm_num_groups
	maxLayersPerBlock = 100
)

func (c Config) arch() (Arch, error) {
	n := len(c.BlockOutChannels)
	switch {
	case n == 0:
		return Arch{}, fmt.Errorf("block_out_channels is empty")
	case n > maxBlocks:
		return Arch{}, fmt.Errorf("block_out_channels has %d entries, more than %d: the scale factor 2^(entries-1) would exceed roentgen's 16384 pixels a side", n, maxBlocks)
	case len(c.UpBlockTypes) != n:
		return Arch{}, fmt.Errorf("up_block_types has %d entries, block_out_channels %d", len(c.UpBlockTypes), n)
	case c.ActFn != "silu":
		return Arch{}, fmt.Errorf("act_fn %q is not supported (only silu)", c.ActFn)
	case c.LatentChannels <= 0 || c.OutChannels <= 0 || c.LayersPerBlock < 0:
		return Arch{}, fmt.Errorf("latent_channels, out_channels and layers_per_block must be positive")
	case c.NormNumGroups <= 0:
		return Arch{}, fmt.Errorf("norm_num_groups must be positive")
	case c.LayersPerBlock > maxLayersPerBlock:
		return Arch{}, fmt.Errorf("layers_per_block = %d is above %d, far beyond any real model", c.LayersPerBlock, maxLayersPerBlock)
	case c.LatentChannels > maxChannels:
		return Arch{}, fmt.Errorf("latent_channels = %d is above %d, far beyond any real model", c.LatentChannels, maxChannels)
	case c.OutChannels > maxChannels:
		return Arch{}, fmt.Errorf("out_channels = %d is above %d, far beyond any real model", c.OutChannels, maxChannels)
	case c.NormNumGroups > maxChannels:
		return Arch{}, fmt.Errorf("norm_num_groups = %d is above %d, far beyond any real model", c.NormNumGroups, maxChannels)
	case c.ScalingFactor == 0:
		return Arch{}, fmt.Errorf("scaling_factor must not be 0")
	case c.ShiftFactor != nil && *c.ShiftFactor != 0:
		return Arch{}, fmt.Errorf("shift_factor is not supported")
	}
	for i, t := range c.UpBlockTypes {
		if t != "UpDecoderBlock2D" {
			return Arch{}, fmt.Errorf("up_block_types[%d]: block type %q is not supported", i, t)
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
	return Arch{
		Out: c.OutChannels, Latent: c.LatentChannels, Groups: c.NormNumGroups, Layers: c.LayersPerBlock,
		Channels: c.BlockOutChannels, Scaling: float32(c.ScalingFactor),
		PostQuantConv: c.UsePostQuantConv, MidAttention: c.MidBlockAddAttention,
	}, nil
}
