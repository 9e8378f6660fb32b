// Package static embeds Gatehouse's stylesheets, scripts and images, so
// the binary never reads them from the working directory.
package static

import "embed"

// Files holds everything under css/, js/ and swagger/ (Swagger UI, vendored
// from the swagger-ui-dist npm package: see swagger/VERSION).
//
//go:embed css js swagger
var Files embed.FS
