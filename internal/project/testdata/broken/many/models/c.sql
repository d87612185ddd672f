select {{ 1 + }} as broken
