// Package imageio turns decoded float images into 8-bit and 16-bit pixels the way diffusers and Pillow do, and writes PNG files with their generation parameters, atomically.
package imageio

import "math"

// Image is one decoded image: RGB (or any channel count) in [0, 1], NHWC.
type Image struct {
	W, H, C int
	Pix     []float32
}

// FromDecoder converts one image of a VAE decoder output [C, H, W] in about
// [-1, 1] into diffusers' postprocessed form: (x/2 + 0.5).clamp(0, 1),
// channel-last, each step in float32 as torch computes it.
func FromDecoder(chw []float32, c, h, w int) Image {
	img := Image{W: w, H: h, C: c, Pix: make([]float32, c*h*w)}
	for ch := range c {
		for i := range h * w {
			v := chw[ch*h*w+i]/2 + 0.5
			img.Pix[i*c+ch] = min(max(v, 0), 1)
		}
	}
	return img
}

// RGB8 is numpy.round(image*255).astype(uint8) as diffusers' numpy_to_pil
// does: the product in float32, rounded half to even.
func (m Image) RGB8() []uint8 {
	out := make([]uint8, len(m.Pix))
	for i, v := range m.Pix {
		out[i] = uint8(math.RoundToEven(float64(v * 255)))
	}
	return out
}

// Gray8 is Pillow's Image.convert("L") of the 8-bit RGB image: ITU-R 601-2
// luma in 16-bit fixed point, (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
func Gray8(rgb []uint8) []uint8 {
	out := make([]uint8, len(rgb)/3)
	for i := range out {
		r, g, b := uint32(rgb[3*i]), uint32(rgb[3*i+1]), uint32(rgb[3*i+2])
		out[i] = uint8((r*19595 + g*38470 + b*7471 + 0x8000) >> 16)
	}
	return out
}

// Gray16 is the ITU-R 601-2 luma of the float image (0.299 R + 0.587 G +
// 0.114 B, the weights Pillow's "L" conversion approximates), scaled to
// 0..65535 and rounded, with no 8-bit rounding on the way.
func (m Image) Gray16() []uint16 {
	out := make([]uint16, m.W*m.H)
	for i := range out {
		p := m.Pix[i*m.C:]
		l := 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
		out[i] = uint16(math.Round(min(max(l, 0), 1) * 65535))
	}
	return out
}
