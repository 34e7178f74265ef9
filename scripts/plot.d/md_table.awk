# md_table.awk: a harness CSV as a Markdown table. Needs csv.awk. Variables (-v):
#   cols   the columns to show, comma-separated (default: all, headed by their names)
#   heads  their headings, separated by "|" (default: the column names)
#   need   a column that must hold something other than "" or "-" for a row to be shown
#   lead   text put before the table when it has rows (a title line)
# Numbers are shown with up to 4 significant digits (whole numbers above 1000); empty cells as "-".
# Prints nothing when no row qualifies.
FNR == 1 {
    csv_header($0)
    if (cols == "") {
        for (k in CSV_COL)
            C[CSV_COL[k]] = k
        nc = CSV_NCOL
    } else {
        nc = split(cols, C, ",")
    }
    if (heads == "" || split(heads, H, "|") != nc)
        for (i = 1; i <= nc; i++)
            H[i] = C[i]
    next
}
{
    csv_row($0)
    if (need != "" && (col(need) == "" || col(need) == "-"))
        next
    if (!n++) {
        if (lead != "")
            print lead "\n"
        line = "|"
        sep = "|" # aligned by this first row: text left, numbers right
        for (i = 1; i <= nc; i++) {
            line = line " " md_cell(H[i]) " |"
            sep = sep (num(C[i]) == "" && col(C[i]) != "" && col(C[i]) != "-" ? " --- |" : " ---: |")
        }
        print line
        print sep
    }
    line = "|"
    for (i = 1; i <= nc; i++)
        line = line " " (num(C[i]) != "" ? fmt(num(C[i]), 4) : col(C[i]) == "" ? "-" : md_cell(col(C[i]))) " |"
    print line
}
