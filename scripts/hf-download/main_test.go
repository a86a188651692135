package main

import (
	"reflect"
	"strings"
	"testing"
)

// A listing shaped like a diffusers SD 2.1-base repository (file names as
// save_pretrained writes them, with fp16 variants and pickles beside).
var listing = []entry{
	{"file", "model_index.json", 1}, {"file", "README.md", 1},
	{"file", "scheduler/scheduler_config.json", 1},
	{"file", "tokenizer/vocab.json", 1}, {"file", "tokenizer/merges.txt", 1},
	{"file", "tokenizer/tokenizer_config.json", 1}, {"file", "tokenizer/special_tokens_map.json", 1},
	{"file", "text_encoder/config.json", 1}, {"file", "text_encoder/model.safetensors", 1},
	{"file", "text_encoder/model.fp16.safetensors", 1}, {"file", "text_encoder/pytorch_model.bin", 1},
	{"file", "unet/config.json", 1}, {"file", "unet/diffusion_pytorch_model.safetensors", 1},
	{"file", "unet/diffusion_pytorch_model.fp16.safetensors", 1},
	{"file", "vae/config.json", 1}, {"file", "vae/diffusion_pytorch_model.fp16.safetensors", 1},
	{"file", "safety_checker/model.safetensors", 1}, {"directory", "unet", 0},
	{"file", "v2-1_512-ema-pruned.safetensors", 1},
}

func paths(es []entry) []string {
	var p []string
	for _, e := range es {
		p = append(p, e.Path)
	}
	return p
}

func TestSelect(t *testing.T) {
	common := []string{"model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
		"tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json", "text_encoder/config.json", "unet/config.json", "vae/config.json"}
	full := append(append([]string{}, common...), "text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors",
		"vae/diffusion_pytorch_model.fp16.safetensors") // the VAE exists only as fp16
	if got := paths(Select(listing, "")); !reflect.DeepEqual(got, full) {
		t.Errorf("default:\n got %v\nwant %v", got, full)
	}
	half := append(append([]string{}, common...), "text_encoder/model.fp16.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
		"vae/diffusion_pytorch_model.fp16.safetensors")
	if got := paths(Select(listing, "fp16")); !reflect.DeepEqual(got, half) {
		t.Errorf("fp16:\n got %v\nwant %v", got, half)
	}
}

// TestSelectPickles: a repository saved before safetensors (pytorch_model.bin
// and diffusion_pytorch_model.bin, as RoentGen v1's era of diffusers wrote).
func TestSelectPickles(t *testing.T) {
	old := []entry{
		{"file", "model_index.json", 1}, {"file", "text_encoder/config.json", 1},
		{"file", "text_encoder/pytorch_model.bin", 1}, {"file", "unet/config.json", 1},
		{"file", "unet/diffusion_pytorch_model.bin", 1}, {"file", "unet/diffusion_pytorch_model.fp16.bin", 1},
		{"file", "vae/config.json", 1}, {"file", "vae/diffusion_pytorch_model.safetensors", 1},
		{"file", "vae/diffusion_pytorch_model.bin", 1}, {"file", "safety_checker/pytorch_model.bin", 1},
	}
	want := []string{"model_index.json", "text_encoder/config.json", "unet/config.json", "vae/config.json",
		"text_encoder/pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.bin", "vae/diffusion_pytorch_model.safetensors"}
	if got := paths(Select(old, "fp16")); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// TestSelectRoentGenTextEncoder: a pipeline saved by RoentGen's training
// code also has text_encoder_and_tokenizer/ (the fine-tuned text encoder
// and its tokenizer, as transformers 4.34 and later save them): its
// config, tokenizer files and one set of weights are fetched too.
func TestSelectRoentGenTextEncoder(t *testing.T) {
	rg := append(append([]entry{}, listing...),
		entry{"file", "text_encoder_and_tokenizer/config.json", 1}, entry{"file", "text_encoder_and_tokenizer/model.safetensors", 1},
		entry{"file", "text_encoder_and_tokenizer/vocab.json", 1}, entry{"file", "text_encoder_and_tokenizer/merges.txt", 1},
		entry{"file", "text_encoder_and_tokenizer/tokenizer_config.json", 1}, entry{"file", "text_encoder_and_tokenizer/added_tokens.json", 1},
		entry{"file", "text_encoder_and_tokenizer/special_tokens_map.json", 1}, entry{"file", "text_encoder_and_tokenizer/pytorch_model.bin", 1})
	got := paths(Select(rg, ""))
	want := []string{"text_encoder_and_tokenizer/config.json", "text_encoder_and_tokenizer/vocab.json",
		"text_encoder_and_tokenizer/merges.txt", "text_encoder_and_tokenizer/tokenizer_config.json",
		"text_encoder_and_tokenizer/added_tokens.json", "text_encoder_and_tokenizer/special_tokens_map.json",
		"text_encoder_and_tokenizer/model.safetensors"}
	var te []string
	for _, p := range got {
		if strings.HasPrefix(p, "text_encoder_and_tokenizer/") {
			te = append(te, p)
		}
	}
	if !reflect.DeepEqual(te, want) || len(got)-len(te) != len(Select(listing, "")) {
		t.Errorf("got %v\nwant those of TestSelect and %v", got, want)
	}
}
