from binforge.cli import main

raise SystemExit(main())
