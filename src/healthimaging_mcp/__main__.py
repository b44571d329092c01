from healthimaging_mcp.cli import main

raise SystemExit(main())
