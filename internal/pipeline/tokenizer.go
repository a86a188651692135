package pipeline

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/diffusers"
)

// LoadTokenizer reads the tokenizer that goes with text encoder folder
// textEncoder ("" for the default): see TokenizerFolder.
func LoadTokenizer(f *diffusers.Folder, textEncoder string) (*clip.Tokenizer, error) {
	if textEncoder != "" && textEncoder != DefaultTextEncoder {
		if err := CheckTextEncoder(f, textEncoder); err != nil {
			return nil, err
		}
	}
	return loadTokenizerFrom(f, TokenizerFolder(f, textEncoder))
}

// loadTokenizerFrom reads the tokenizer in folder name of f.
func loadTokenizerFrom(f *diffusers.Folder, name string) (*clip.Tokenizer, error) {
	sub, err := f.Sub(name)
	if err != nil {
		return nil, err
	}
	tok, err := clip.LoadTokenizerFS(sub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path(name), err)
	}
	return tok, nil
}
