// Command pause is the sandbox ("pause") process of the test node's pods: it holds the pod's namespaces,
// reaps orphaned children (it is PID 1 of the pod when process namespaces are shared) and exits 0 on
// SIGTERM/SIGINT. Built static (CGO_ENABLED=0) into the local image docker.io/local/pause:1.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
