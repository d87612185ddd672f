//go:build !unix

package deps

import "os/exec"

// killGroup: elsewhere, cancelling kills git itself (exec's default).
func killGroup(*exec.Cmd) {}

const openNoFollow = 0
