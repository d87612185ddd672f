//go:build unix

package deps

import (
	"os/exec"
	"syscall"
)

// killGroup makes a cancelled command kill its whole process group: git
// fetch leaves index-pack and remote helpers running if only it is killed.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// openNoFollow refuses to open a link.
const openNoFollow = syscall.O_NOFOLLOW
