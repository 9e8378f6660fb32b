package testenv

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd get SIGKILL when the test process goes, even
// by a panic or a timeout that skips the test's cleanups.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
