#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/prctl.h>
double leaf(int n){double s=0;for(int i=0;i<n;i++)s+=i*0.5;return s;}
double step(int n){return leaf(n)+leaf(n/2);}
void *worker(void *a){prctl(PR_SET_NAME,"io worker");double s=0;for(int k=0;k<25;k++)s+=leaf(400000);return 0;}
int main(){pthread_t t;pthread_create(&t,0,worker,0);double s=0;for(int k=0;k<25;k++)s+=step(400000);pthread_join(t,0);printf("%f\n",s);return 0;}
