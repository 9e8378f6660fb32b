module gatehousebench/flood

go 1.26.8
