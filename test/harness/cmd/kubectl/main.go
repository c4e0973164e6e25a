// Command kubectl is the upstream kubectl, built from k8s.io/kubectl at the same
// version as the test API server (see build.sh for the version ldflags).
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err) // prints the error the way upstream kubectl does, exits 1
	}
}
