// Package static embeds Gatehouse's stylesheets, scripts and images, so
// the binary never reads them from the working directory.
package static

import "embed"

// Files holds everything under css/ (and later js/, img/).
//
//go:embed css
var Files embed.FS
