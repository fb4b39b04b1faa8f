/* The heap picture's internal entry (picture.c). Not installed. */
#ifndef VCMI_PICTURE_H
#define VCMI_PICTURE_H

/* VCM_SVG=FILE: write the heap picture to FILE at exit (%p in FILE: the pid). Nothing if the
 * option is unset; a file that cannot be opened is skipped silently. No lock held. */
void vcmi_svg_at_exit(void);
#endif
