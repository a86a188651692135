// Package demo embeds the tiny random-weight SD 1.x pipeline that every command falls back to when no model is given.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed tiny-sd1
var files embed.FS

// Name is how the embedded pipeline is shown in messages.
const Name = "built-in:tiny-sd1"

// FS returns the embedded pipeline folder (model_index.json at its root).
func FS() fs.FS {
	sub, err := fs.Sub(files, "tiny-sd1")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder exists
	}
	return sub
}
