// Package examples embeds the example projects, so `dataops demo` works
// from an installed binary or the container image, not only a checkout.
package examples

import (
	"embed"
	"io/fs"
)

// all: keeps properties files such as _sources.yml, which embed would
// otherwise skip for their leading underscore.
//
//go:embed all:shop
var files embed.FS

// Shop is the examples/shop project.
func Shop() fs.FS {
	sub, err := fs.Sub(files, "shop")
	if err != nil {
		panic(err) // the folder is compiled in
	}
	return sub
}
