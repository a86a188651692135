// Command hf-download fetches a Stable Diffusion pipeline in diffusers layout
// (e.g. RoentGen v1 or RoentGen-v2, which need credentialed access) from the
// Hugging Face Hub into a local folder, with the user's own access token.
//
//	HF_TOKEN=hf_... go run ./scripts/hf-download --repo ORG/NAME --out models/roentgen-v2 [--variant fp16]
//
// Only what roentgen reads is fetched: model_index.json, the configs, the
// tokenizer files and the weights of text_encoder, unet and vae: safetensors,
// or the PyTorch checkpoints (.bin) of repositories without them (the VAE
// encoder is inside the VAE file). Files already present with the
// right size are skipped, so an interrupted download can be rerun; each file
// is written to a temporary name and renamed when complete.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/atomicfile"
)

type entry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
}

func main() {
	repo := flag.String("repo", "", "Hugging Face model repository, ORG/NAME")
	out := flag.String("out", "", "destination folder (e.g. models/roentgen-v2)")
	rev := flag.String("revision", "main", "branch, tag or commit")
	variant := flag.String("variant", "", `weight variant to fetch, e.g. "fp16" (default: full precision, else what exists)`)
	host := flag.String("endpoint", "https://huggingface.co", "Hub endpoint")
	flag.Parse()
	if *repo == "" || *out == "" || strings.Count(*repo, "/") != 1 {
		fmt.Fprintln(os.Stderr, "usage: hf-download --repo ORG/NAME --out DIR [--variant fp16]  (token in $HF_TOKEN)")
		os.Exit(2)
	}
	token := os.Getenv("HF_TOKEN")
	if token == "" {
		fmt.Fprintln(os.Stderr, "hf-download: set HF_TOKEN to your Hugging Face access token (the account that was granted access to the model)")
		os.Exit(2)
	}
	c := client{host: strings.TrimRight(*host, "/"), token: token}
	if err := c.download(*repo, *rev, *variant, *out); err != nil {
		fmt.Fprintf(os.Stderr, "hf-download: %v\n", err)
		os.Exit(1)
	}
}

type client struct{ host, token string }

func (c client) get(url string) (*http.Response, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s (no network, or a proxy to set with HTTPS_PROXY?): %v", c.host, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return nil, fmt.Errorf("%s: %s (is your token valid, and has this account been granted access to the model?)", url, resp.Status)
		}
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return resp, nil
}

func (c client) download(repo, rev, variant, out string) error {
	resp, err := c.get(fmt.Sprintf("%s/api/models/%s/tree/%s?recursive=1", c.host, repo, rev))
	if err != nil {
		return err
	}
	var files []entry
	err = json.NewDecoder(resp.Body).Decode(&files)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("listing %s: %w", repo, err)
	}
	want := Select(files, variant)
	if len(want) == 0 {
		return errors.New("the repository holds no diffusers pipeline (no model_index.json and weights)")
	}
	for i, f := range want {
		dst := filepath.Join(out, filepath.FromSlash(f.Path))
		if st, err := os.Stat(dst); err == nil && st.Size() == f.Size {
			fmt.Printf("[%d/%d] %s: already present\n", i+1, len(want), f.Path)
			continue
		}
		fmt.Printf("[%d/%d] %s (%.1f MB)\n", i+1, len(want), f.Path, float64(f.Size)/1e6)
		if err := c.fetch(fmt.Sprintf("%s/%s/resolve/%s/%s", c.host, repo, rev, f.Path), dst); err != nil {
			return err
		}
	}
	fmt.Printf("done: roentgen info --model %s\n", out)
	return nil
}

func (c client) fetch(url, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	resp, err := c.get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return atomicfile.Write(dst, "."+filepath.Base(dst)+".part", func(w io.Writer) error {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return fmt.Errorf("%s: %w", url, err)
		}
		return nil
	})
}

// networks are the components whose weights roentgen reads:
// text_encoder_and_tokenizer is where RoentGen's training code saves its
// fine-tuned text encoder (and tokenizer), which roentgen --text-encoder
// text_encoder_and_tokenizer runs.
var networks = map[string]bool{"text_encoder": true, "unet": true, "vae": true, "text_encoder_and_tokenizer": true}

// Select picks the files roentgen needs from a repository listing: the
// pipeline index, configs and tokenizers, and for each network one set of
// weights, safetensors if it has any, else PyTorch checkpoints (the variant
// if asked for and present, else full precision, else any variant).
func Select(files []entry, variant string) []entry {
	var out []entry
	weightsBy, picklesBy := map[string][]entry{}, map[string][]entry{}
	for _, f := range files {
		if f.Type != "file" {
			continue
		}
		dir, name := path.Split(f.Path)
		dir = strings.TrimSuffix(dir, "/")
		switch {
		case f.Path == "model_index.json", dir == "scheduler" && name == "scheduler_config.json":
			out = append(out, f)
		case (dir == "tokenizer" || dir == "text_encoder_and_tokenizer") && (strings.HasSuffix(name, ".json") && !isWeights(name, "safetensors") && !isWeights(name, "bin") || name == "merges.txt"):
			out = append(out, f)
		case networks[dir] && name == "config.json":
			out = append(out, f)
		case networks[dir] && isWeights(name, "safetensors"):
			weightsBy[dir] = append(weightsBy[dir], f)
		case networks[dir] && isWeights(name, "bin"):
			picklesBy[dir] = append(picklesBy[dir], f)
		}
	}
	for _, dir := range []string{"text_encoder", "unet", "vae", "text_encoder_and_tokenizer"} {
		if len(weightsBy[dir]) == 0 {
			weightsBy[dir] = picklesBy[dir] // as diffusers: safetensors if there are any
		}
		out = append(out, pickVariant(weightsBy[dir], variant)...)
	}
	return out
}

// isWeights reports whether name is a weight file or shard index of format
// ext ("safetensors" or "bin").
func isWeights(name, ext string) bool {
	return strings.HasSuffix(name, "."+ext) || strings.HasSuffix(name, "."+ext+".index.json") ||
		strings.HasSuffix(name, ".json") && strings.Contains(name, "."+ext+".index.")
}

// pickVariant keeps the weight files of one variant: files whose names carry
// ".<variant>." belong to it, the others are full precision.
func pickVariant(files []entry, variant string) []entry {
	groups := map[string][]entry{}
	for _, f := range files {
		v := ""
		for _, cand := range []string{"fp16", "bf16", "fp32", "non_ema", "ema"} {
			if strings.Contains(path.Base(f.Path), "."+cand+".") || strings.Contains(path.Base(f.Path), "."+cand+"-") {
				v = cand
			}
		}
		groups[v] = append(groups[v], f)
	}
	for _, v := range []string{variant, "", "fp16"} {
		if g, ok := groups[v]; ok {
			return g
		}
	}
	for _, g := range groups {
		return g
	}
	return nil
}
