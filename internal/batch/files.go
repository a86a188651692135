package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/atomicfile"
)

// tmpPrefix starts the name of every temporary output file; the rest is
// the final name, ".tmp" and a random suffix.
const tmpPrefix = ".roentgen-"

// WriteFile writes dir/name through write into a temporary file in dir,
// syncs it and renames it into place, so that name never holds a partial
// file. It returns the SHA-256 (hex) and size of what was written. On
// error the temporary file is removed.
func WriteFile(dir, name string, write func(io.Writer) error) (sum string, size int64, err error) {
	h := sha256.New()
	var n int64
	err = atomicfile.Write(filepath.Join(dir, name), tmpPrefix+name+".tmp", func(w io.Writer) error {
		c := &counter{w: io.MultiWriter(w, h)}
		err := write(c)
		n = c.n
		return err
	})
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// HashFile returns the hex SHA-256 of a file.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CleanTemp removes the temporary files a killed run left in dir for the
// outputs mine reports as its own; other shards' files in flight are left
// alone. It returns how many it removed.
func CleanTemp(dir string, mine func(name string) bool) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), tmpPrefix)
		i := strings.LastIndex(rest, ".tmp")
		if !ok || i < 0 || !mine(rest[:i]) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
