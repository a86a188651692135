// Package atomicfile writes a file whole or not at all: into a temporary file beside it, synced, then renamed over it.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Write writes path through write. The temporary file, in path's folder,
// is named tmp followed by random digits; it is created with mode 0666
// less the umask (as os.Create would make path itself), synced, and
// renamed over path, or removed on any error.
func Write(path, tmp string, write func(io.Writer) error) (err error) {
	f, err := create(filepath.Join(filepath.Dir(path), tmp))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// create makes a new file named prefix plus random digits.
func create(prefix string) (*os.File, error) {
	for range 100 {
		f, err := os.OpenFile(prefix+strconv.FormatUint(uint64(rand.Uint32()), 10), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "create", Path: prefix + "*", Err: fs.ErrExist}
}
