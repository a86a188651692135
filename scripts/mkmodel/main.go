// Command mkmodel writes a full-size Stable Diffusion pipeline with random
// weights in diffusers layout, for speed and memory work without the real
// (credentialed) RoentGen weights:
//
//	go run ./scripts/mkmodel --family sd15 --out models/random-sd15          # SD 1.5 shapes, fp16
//	go run ./scripts/mkmodel --family sd21-base --out models/random-sd21     # SD 2.1-base shapes
//	go run ./scripts/mkmodel --family sd15 --format bin --out models/random-sd15-bin   # PyTorch checkpoints
//
// The configs are the real ones, so every tensor has the real name and shape
// and the parameter counts equal the real models' (the U-Net and text
// encoder trees come from roentgen's own model declarations; the VAE
// encoder, which roentgen never runs, is declared here). Weights are
// N(0, 1/fan_in), norm scales 1 and biases 0: the pictures are noise, the
// arithmetic is the real amount. Never commit the output (models/ is
// git-ignored); it takes about 2 GB (fp16) or 4 GB (f32).
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/nn"
	"github.com/roentgen-dev/roentgen/internal/unet"
	"github.com/roentgen-dev/roentgen/internal/vae"
	"github.com/roentgen-dev/roentgen/internal/weights"
	"github.com/x448/float16"
)

func main() {
	fam := flag.String("family", "sd15", "sd15 or sd21-base")
	out := flag.String("out", "", "destination folder, e.g. models/random-sd15")
	dtype := flag.String("dtype", "f16", "stored weight dtype: f16 or f32")
	vocab := flag.String("vocab", "testdata/tiny-sd1/tokenizer", "folder with the CLIP vocab.json and merges.txt to copy")
	seed := flag.Uint64("seed", 1, "random seed")
	format := flag.String("format", "safetensors", "weight files: safetensors, or bin (PyTorch checkpoints, as pipelines saved before safetensors)")
	flag.Parse()
	f, ok := families[*fam]
	if !ok || *out == "" || (*dtype != "f16" && *dtype != "f32") || (*format != "safetensors" && *format != "bin") {
		fmt.Fprintln(os.Stderr, "usage: mkmodel --family sd15|sd21-base --out DIR [--dtype f16|f32] [--format safetensors|bin] [--vocab DIR] [--seed N]")
		os.Exit(2)
	}
	if err := write(f, *out, *dtype, *format, *vocab, *seed); err != nil {
		fmt.Fprintf(os.Stderr, "mkmodel: %v\n", err)
		os.Exit(1)
	}
}

func write(f family, out, dtype, format, vocab string, seed uint64) error {
	files := map[string]string{
		"model_index.json":                modelIndex,
		"scheduler/scheduler_config.json": scheduler,
		"unet/config.json":                f.unet,
		"vae/config.json":                 vaeConfig,
		"text_encoder/config.json":        f.text,
		"tokenizer/tokenizer_config.json": `{"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "` +
			f.pad + `", "model_max_length": 77, "do_lower_case": true, "tokenizer_class": "CLIPTokenizer"}`,
		"tokenizer/special_tokens_map.json": `{"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "` + f.pad + `"}`,
	}
	for _, name := range []string{"vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join(vocab, name))
		if err != nil {
			return fmt.Errorf("tokenizer files: %w (run from the repository root or pass --vocab)", err)
		}
		files["tokenizer/"+name] = string(b)
	}
	for name, content := range files {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	suffix := "." + format
	if dtype == "f16" {
		suffix = ".fp16" + suffix
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	comps := []struct {
		dir, file string
		declare   func() ([]weights.Info, error)
	}{
		{"text_encoder", map[string]string{"safetensors": "model", "bin": "pytorch_model"}[format], func() ([]weights.Info, error) { return declareText(f.text) }},
		{"unet", "diffusion_pytorch_model", func() ([]weights.Info, error) { return declareUNet(f.unet) }},
		{"vae", "diffusion_pytorch_model", declareVAE},
	}
	for _, c := range comps {
		infos, err := c.declare()
		if err != nil {
			return fmt.Errorf("%s: %w", c.dir, err)
		}
		path := filepath.Join(out, c.dir, c.file+suffix)
		n, err := writeRandom(path, infos, dtype, rng)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d tensors, %d parameters\n", path, len(infos), n)
	}
	fmt.Printf("done: roentgen info --model %s\n", out)
	return nil
}

func declareText(cfg string) ([]weights.Info, error) {
	_, a, err := clip.ParseConfig("text_encoder/config.json", []byte(cfg))
	if err != nil {
		return nil, err
	}
	rec := weights.NewRecorder()
	_, err = clip.NewTextEncoder(rec, a)
	return rec.Declared(), err
}

func declareUNet(cfg string) ([]weights.Info, error) {
	_, a, err := unet.ParseConfig("unet/config.json", []byte(cfg))
	if err != nil {
		return nil, err
	}
	rec := weights.NewRecorder()
	_, err = unet.New(rec, a)
	return rec.Declared(), err
}

// declareVAE lists the decoder (from roentgen's model) and the encoder and
// quant_conv (diffusers' Encoder, declared here since roentgen never runs it).
func declareVAE() ([]weights.Info, error) {
	_, a, err := vae.ParseConfig("vae/config.json", []byte(vaeConfig))
	if err != nil {
		return nil, err
	}
	rec := weights.NewRecorder()
	if _, err := vae.New(rec, a); err != nil {
		return nil, err
	}
	s := rec.Root().Sub("encoder")
	ch := a.Channels
	ro := nn.ResnetOptions{Groups: a.Groups, Eps: 1e-6, OutputScale: 1}
	nn.NewConv2d(s.Sub("conv_in"), 3, ch[0], 3, 1, 1)
	prev := ch[0]
	for i, c := range ch {
		bs := s.Sub("down_blocks").Index(i)
		for j := range a.Layers {
			in := c
			if j == 0 {
				in = prev
			}
			nn.NewResnetBlock2D(bs.Sub("resnets").Index(j), in, c, ro)
		}
		if i < len(ch)-1 {
			nn.NewConv2d(bs.Sub("downsamplers").Index(0).Sub("conv"), c, c, 3, 2, 0)
		}
		prev = c
	}
	last := ch[len(ch)-1]
	ms := s.Sub("mid_block")
	nn.NewResnetBlock2D(ms.Sub("resnets").Index(0), last, last, ro)
	as := ms.Sub("attentions").Index(0)
	nn.NewGroupNorm(as.Sub("group_norm"), a.Groups, last, 1e-6)
	nn.NewAttention(as, nn.AttentionOptions{QueryDim: last, ContextDim: last, Heads: 1, HeadDim: last, QKVBias: true})
	nn.NewResnetBlock2D(ms.Sub("resnets").Index(1), last, last, ro)
	nn.NewGroupNorm(s.Sub("conv_norm_out"), a.Groups, last, 1e-6)
	nn.NewConv2d(s.Sub("conv_out"), last, 2*a.Latent, 3, 1, 1)
	nn.NewConv2d(rec.Root().Sub("quant_conv"), 2*a.Latent, 2*a.Latent, 1, 1, 0)
	return rec.Declared(), nil
}

// writeRandom fills each declared tensor and writes the file; it returns
// the parameter count.
func writeRandom(path string, infos []weights.Info, dtype string, rng *rand.Rand) (int64, error) {
	var recs []weights.Record
	var total int64
	for _, in := range infos {
		n := int(in.Numel())
		total += int64(n)
		vals := make([]float32, n)
		isNorm := strings.Contains(in.Name, "norm") && len(in.Shape) == 1
		switch {
		case isNorm && strings.HasSuffix(in.Name, ".weight"):
			for i := range vals {
				vals[i] = 1
			}
		case len(in.Shape) == 1: // biases and norm shifts
		default:
			std := 1 / math.Sqrt(float64(n/in.Shape[0]))
			if strings.Contains(in.Name, "embedding") {
				std = 0.02
			}
			for i := range vals {
				vals[i] = float32(rng.NormFloat64() * std)
			}
		}
		rec := weights.Record{Name: in.Name, Shape: in.Shape}
		if dtype == "f16" {
			rec.DType, rec.Data = weights.F16, make([]byte, 2*n)
			for i, v := range vals {
				binary.LittleEndian.PutUint16(rec.Data[2*i:], float16.Fromfloat32(v).Bits())
			}
		} else {
			rec.DType, rec.Data = weights.F32, make([]byte, 4*n)
			for i, v := range vals {
				binary.LittleEndian.PutUint32(rec.Data[4*i:], math.Float32bits(v))
			}
		}
		recs = append(recs, rec)
	}
	if strings.HasSuffix(path, ".bin") {
		return total, weights.WriteTorchFile(path, recs)
	}
	return total, weights.WriteFile(path, recs, map[string]string{"format": "pt", "generator": "roentgen scripts/mkmodel (random weights)"})
}
